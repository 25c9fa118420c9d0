#!/usr/bin/env python3
"""The share of a node's CPU each stage of the request path takes, from async-profiler's collapsed stacks.

Each sample goes to the stage of the innermost frame that names one (a TCP read under the server's connection is
TCP, the agent's stage under the stream interpreter is the agent's); what names none is 'other'.
Usage: profile_stages.py cpu.collapsed
"""
import collections
import re
import sys

STAGES = [
    ('GC', r'G1|GCTaskThread|WorkerThread::run|ConcurrentGCThread|gc/'),
    ('JIT compiler', r'CompileBroker|C2Compiler|Compilation::|CompilerThread'),
    ('stream refs (agent -> edge hand-over)', r'pekko/stream/impl/streamref'),
    ('agent: the answer stage and call', r'org/aiguillage/agents'),
    ('edge: routes, dialects, dispatch', r'org/aiguillage/node'),
    ('queue and request actors', r'org/aiguillage/(actors|priority)'),
    ('Kamon', r'kamon/'),
    ('logging', r'logback|slf4j|pekko/event/'),
    ('HTTP client: pool, response parsing', r'pekko/http/impl/engine/client|HttpResponseParser|pekko/http/impl/engine/parsing'),
    ('HTTP server: rendering, routing', r'pekko/http/impl/engine/server|pekko/http/impl/engine/rendering|pekko/http/scaladsl/server|pekko/http/javadsl/server'),
    ('TCP: reads, writes, selector', r'pekko/io/|pekko/stream/impl/io/TcpConnectionStage|sun/nio/ch|epoll|SelectorImpl'),
    ('stream interpreter (hops between stages)', r'pekko/stream/impl/fusing|pekko/stream/impl/'),
    ('actors: mailboxes, thread wake-ups', r'pekko/dispatch|pekko/actor/|ForkJoin|Unsafe_Park|Unsafe_Unpark|futex|pthread_cond'),
]
RULES = [(name, re.compile(rx)) for name, rx in STAGES]

total = 0
shares = collections.Counter()
for line in open(sys.argv[1]):
    stack, n = line.rsplit(' ', 1)
    n = int(n)
    total += n
    stage = 'other'
    for frame in reversed(stack.split(';')):
        found = next((name for name, rx in RULES if rx.search(frame)), None)
        if found:
            stage = found
            break
    shares[stage] += n
for stage, n in shares.most_common():
    print(f'{100 * n / total:5.1f} %  {stage}')
print(f'{total} samples')

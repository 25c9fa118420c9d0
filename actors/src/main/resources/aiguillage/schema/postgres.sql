-- pekko-persistence-jdbc 1.1.1's PostgreSQL schema (schema/postgres/postgres-create-schema.sql in its jar), made
-- re-runnable, without the durable-state table we do not use; then the usage ledger.
CREATE TABLE IF NOT EXISTS public.event_journal (
  ordering BIGSERIAL,
  persistence_id VARCHAR(255) NOT NULL,
  sequence_number BIGINT NOT NULL,
  deleted BOOLEAN DEFAULT FALSE NOT NULL,
  writer VARCHAR(255) NOT NULL,
  write_timestamp BIGINT,
  adapter_manifest VARCHAR(255),
  event_ser_id INTEGER NOT NULL,
  event_ser_manifest VARCHAR(255) NOT NULL,
  event_payload BYTEA NOT NULL,
  meta_ser_id INTEGER,
  meta_ser_manifest VARCHAR(255),
  meta_payload BYTEA,
  PRIMARY KEY(persistence_id, sequence_number)
);
CREATE UNIQUE INDEX IF NOT EXISTS event_journal_ordering_idx ON public.event_journal(ordering);
CREATE TABLE IF NOT EXISTS public.event_tag (
  event_id BIGINT,
  tag VARCHAR(256),
  PRIMARY KEY(event_id, tag),
  CONSTRAINT fk_event_journal FOREIGN KEY(event_id) REFERENCES event_journal(ordering) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS public.snapshot (
  persistence_id VARCHAR(255) NOT NULL,
  sequence_number BIGINT NOT NULL,
  created BIGINT NOT NULL,
  snapshot_ser_id INTEGER NOT NULL,
  snapshot_ser_manifest VARCHAR(255) NOT NULL,
  snapshot_payload BYTEA NOT NULL,
  meta_ser_id INTEGER,
  meta_ser_manifest VARCHAR(255),
  meta_payload BYTEA,
  PRIMARY KEY(persistence_id, sequence_number)
);
CREATE TABLE IF NOT EXISTS public.aiguillage_usage (
  ticket_id VARCHAR(64) NOT NULL,
  key_id VARCHAR(64) NOT NULL,
  organization VARCHAR(255) NOT NULL,
  model VARCHAR(255) NOT NULL,
  server_id VARCHAR(1024) NOT NULL,
  server_organization VARCHAR(255) NOT NULL,
  prompt_tokens BIGINT NOT NULL,
  completion_tokens BIGINT NOT NULL,
  queue_wait_ms BIGINT NOT NULL,
  ttft_ms BIGINT NOT NULL,
  duration_ms BIGINT NOT NULL,
  status INTEGER NOT NULL,
  priority INTEGER NOT NULL,
  routing_mode VARCHAR(32) NOT NULL,
  energy_joules DOUBLE PRECISION NOT NULL,
  ended_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS aiguillage_usage_ended_at_idx ON public.aiguillage_usage (ended_at);
-- Seconds of audio heard by speech-to-text calls (added with the audio endpoints; older tables gain it).
ALTER TABLE public.aiguillage_usage ADD COLUMN IF NOT EXISTS audio_seconds DOUBLE PRECISION DEFAULT 0 NOT NULL;
-- The emissions of each call's energy, and how its energy was had (power, ecologits, none); older tables gain them.
ALTER TABLE public.aiguillage_usage ADD COLUMN IF NOT EXISTS co2e_g DOUBLE PRECISION DEFAULT 0 NOT NULL;
ALTER TABLE public.aiguillage_usage ADD COLUMN IF NOT EXISTS energy_method VARCHAR(16) DEFAULT 'none' NOT NULL;
-- Every change made through the admin API: who (the admin, or an organisation's admin key), its organisation scope,
-- the request and its answer's status.
CREATE TABLE IF NOT EXISTS public.aiguillage_audit (
    at BIGINT NOT NULL,
    who VARCHAR(255) NOT NULL,
    organization VARCHAR(255),
    method VARCHAR(16) NOT NULL,
    path VARCHAR(2048) NOT NULL,
    status INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS aiguillage_audit_at_idx ON public.aiguillage_audit (at);
-- The Batch API's files (uploads, and batches' output and error files): one row per file once its last byte is
-- stored, its bytes in chunks of at most 1 MiB in order.
CREATE TABLE IF NOT EXISTS public.aiguillage_files (
    id VARCHAR(64) PRIMARY KEY,
    organization VARCHAR(255) NOT NULL,
    filename VARCHAR(1024) NOT NULL,
    purpose VARCHAR(32) NOT NULL,
    bytes BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS aiguillage_files_organization_idx ON public.aiguillage_files (organization, created_at);
CREATE TABLE IF NOT EXISTS public.aiguillage_file_chunks (
    file_id VARCHAR(64) NOT NULL,
    seq INTEGER NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (file_id, seq)
);
-- Each batch as its entity last wrote it (the entity's journal is the truth): what GET /v1/batches lists, and what
-- every node reads to carry on the batches not finished.
CREATE TABLE IF NOT EXISTS public.aiguillage_batches (
    id VARCHAR(64) PRIMARY KEY,
    organization VARCHAR(255) NOT NULL,
    key_id VARCHAR(255) NOT NULL,
    status VARCHAR(16) NOT NULL,
    created_at BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS aiguillage_batches_organization_idx ON public.aiguillage_batches (organization, created_at);
-- The file a batch reads its lines from: not deleted while the batch is unfinished.
ALTER TABLE public.aiguillage_batches ADD COLUMN IF NOT EXISTS input_file_id VARCHAR(64);
-- One row per settled line of a batch: its output or error line. The key makes a line's result written once.
CREATE TABLE IF NOT EXISTS public.aiguillage_batch_results (
    batch_id VARCHAR(64) NOT NULL,
    line INTEGER NOT NULL,
    ok BOOLEAN NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (batch_id, line)
);

-- pekko-persistence-jdbc 1.1.1's H2 schema (schema/h2/h2-create-schema.sql in its jar), made re-runnable, without
-- the durable-state table we do not use; then the usage ledger.
CREATE TABLE IF NOT EXISTS PUBLIC."event_journal" (
    "ordering" BIGINT UNIQUE NOT NULL AUTO_INCREMENT,
    "deleted" BOOLEAN DEFAULT false NOT NULL,
    "persistence_id" VARCHAR(255) NOT NULL,
    "sequence_number" BIGINT NOT NULL,
    "writer" VARCHAR NOT NULL,
    "write_timestamp" BIGINT NOT NULL,
    "adapter_manifest" VARCHAR NOT NULL,
    "event_payload" BLOB NOT NULL,
    "event_ser_id" INTEGER NOT NULL,
    "event_ser_manifest" VARCHAR NOT NULL,
    "meta_payload" BLOB,
    "meta_ser_id" INTEGER,
    "meta_ser_manifest" VARCHAR,
    PRIMARY KEY("persistence_id","sequence_number")
);
CREATE UNIQUE INDEX IF NOT EXISTS "event_journal_ordering_idx" ON PUBLIC."event_journal" ("ordering");
CREATE TABLE IF NOT EXISTS PUBLIC."event_tag" (
    "event_id" BIGINT NOT NULL,
    "tag" VARCHAR NOT NULL,
    PRIMARY KEY("event_id", "tag"),
    CONSTRAINT fk_event_journal FOREIGN KEY("event_id") REFERENCES "event_journal"("ordering") ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS PUBLIC."snapshot" (
    "persistence_id" VARCHAR(255) NOT NULL,
    "sequence_number" BIGINT NOT NULL,
    "created" BIGINT NOT NULL,
    "snapshot_ser_id" INTEGER NOT NULL,
    "snapshot_ser_manifest" VARCHAR NOT NULL,
    "snapshot_payload" BLOB NOT NULL,
    "meta_ser_id" INTEGER,
    "meta_ser_manifest" VARCHAR,
    "meta_payload" BLOB,
    PRIMARY KEY("persistence_id","sequence_number")
);
CREATE TABLE IF NOT EXISTS aiguillage_usage (
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
CREATE INDEX IF NOT EXISTS aiguillage_usage_ended_at_idx ON aiguillage_usage (ended_at);
-- Seconds of audio heard by speech-to-text calls (added with the audio endpoints; older tables gain it).
ALTER TABLE aiguillage_usage ADD COLUMN IF NOT EXISTS audio_seconds DOUBLE PRECISION DEFAULT 0 NOT NULL;
-- The emissions of each call's energy, and how its energy was had (power, ecologits, none); older tables gain them.
ALTER TABLE aiguillage_usage ADD COLUMN IF NOT EXISTS co2e_g DOUBLE PRECISION DEFAULT 0 NOT NULL;
ALTER TABLE aiguillage_usage ADD COLUMN IF NOT EXISTS energy_method VARCHAR(16) DEFAULT 'none' NOT NULL;
-- Every change made through the admin API: who (the admin, or an organisation's admin key), its organisation scope,
-- the request and its answer's status.
CREATE TABLE IF NOT EXISTS aiguillage_audit (
    at BIGINT NOT NULL,
    who VARCHAR(255) NOT NULL,
    organization VARCHAR(255),
    method VARCHAR(16) NOT NULL,
    path VARCHAR(2048) NOT NULL,
    status INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS aiguillage_audit_at_idx ON aiguillage_audit (at);
-- The Batch API's files (uploads, and batches' output and error files): one row per file once its last byte is
-- stored, its bytes in chunks of at most 1 MiB in order.
CREATE TABLE IF NOT EXISTS aiguillage_files (
    id VARCHAR(64) PRIMARY KEY,
    organization VARCHAR(255) NOT NULL,
    filename VARCHAR(1024) NOT NULL,
    purpose VARCHAR(32) NOT NULL,
    bytes BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS aiguillage_files_organization_idx ON aiguillage_files (organization, created_at);
CREATE TABLE IF NOT EXISTS aiguillage_file_chunks (
    file_id VARCHAR(64) NOT NULL,
    seq INTEGER NOT NULL,
    data VARBINARY(2097152) NOT NULL,
    PRIMARY KEY (file_id, seq)
);
-- Each batch as its entity last wrote it (the entity's journal is the truth): what GET /v1/batches lists, and what
-- every node reads to carry on the batches not finished.
CREATE TABLE IF NOT EXISTS aiguillage_batches (
    id VARCHAR(64) PRIMARY KEY,
    organization VARCHAR(255) NOT NULL,
    key_id VARCHAR(255) NOT NULL,
    status VARCHAR(16) NOT NULL,
    created_at BIGINT NOT NULL,
    body CLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS aiguillage_batches_organization_idx ON aiguillage_batches (organization, created_at);
-- The file a batch reads its lines from: not deleted while the batch is unfinished.
ALTER TABLE aiguillage_batches ADD COLUMN IF NOT EXISTS input_file_id VARCHAR(64);
-- One row per settled line of a batch: its output or error line. The key makes a line's result written once.
CREATE TABLE IF NOT EXISTS aiguillage_batch_results (
    batch_id VARCHAR(64) NOT NULL,
    line INTEGER NOT NULL,
    ok BOOLEAN NOT NULL,
    body CLOB NOT NULL,
    PRIMARY KEY (batch_id, line)
);

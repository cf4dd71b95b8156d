-- What the records service knows of each connection; a deleted one stays as a tombstone so
-- pages still in flight for it are dropped instead of resurrecting its data.
CREATE TABLE connections (
    connection_id              text PRIMARY KEY,
    project_id                 text,
    initial_sync_record_events boolean NOT NULL DEFAULT false,
    deleted                    boolean NOT NULL DEFAULT false
);

-- The change cursor of a connection. Positions are taken by `UPDATE ... RETURNING` inside the
-- ingest transaction: the row lock orders concurrent writers, so positions commit in order.
CREATE TABLE cursors (
    connection_id text PRIMARY KEY,
    position      bigint NOT NULL DEFAULT 0
);

-- The current version of every record.
CREATE TABLE records (
    connection_id       text NOT NULL,
    data_model          text NOT NULL,
    record_id           text NOT NULL,
    data                jsonb NOT NULL,
    hash                bytea NOT NULL,
    version             int NOT NULL DEFAULT 1,
    action              text NOT NULL,
    position            bigint NOT NULL,
    provider_updated_at timestamptz,
    first_seen_at       timestamptz NOT NULL DEFAULT now(),
    modified_at         timestamptz NOT NULL DEFAULT now(),
    deleted_at          timestamptz,
    PRIMARY KEY (connection_id, data_model, record_id)
);
-- The change feed of one (connection, model), in cursor order. Keyed on an expression on purpose:
-- an index that starts (connection_id, data_model) like the primary key ties with it while the
-- table has no statistics yet (a first sync), and the planner then answers every per-record
-- probe by scanning the whole model: quadratic. The feed query names the same expression.
CREATE INDEX records_changes ON records ((connection_id || '/' || data_model), position);

-- Running counts of a job, kept page by page in the page's own transaction.
CREATE TABLE jobs (
    job_id        text PRIMARY KEY,
    connection_id text NOT NULL,
    data_model    text NOT NULL,
    fetched       bigint NOT NULL DEFAULT 0,
    created       bigint NOT NULL DEFAULT 0,
    updated       bigint NOT NULL DEFAULT 0,
    unchanged     bigint NOT NULL DEFAULT 0,
    deleted       bigint NOT NULL DEFAULT 0,
    seen          bigint NOT NULL DEFAULT 0,
    -- The first cursor position this job reserved: a record at or after it was written by the
    -- job (or later), so it was seen without a row in `seen`.
    first_position bigint,
    ended_at      timestamptz
);
CREATE INDEX jobs_connection ON jobs (connection_id);

-- Ids of unchanged records a full sync has seen, one row per page, for deletion detection at
-- its end (dropped when it ends). An array per page costs one small row instead of an index
-- entry per record; the end of the sync subtracts them from the model's ids in one pass.
CREATE UNLOGGED TABLE seen (
    job_id     text NOT NULL,
    record_ids text[] NOT NULL
);
CREATE INDEX seen_job ON seen (job_id);

-- Deletions held by the mass-delete guard until the customer confirms them.
CREATE TABLE held_deletions (
    connection_id text NOT NULL,
    data_model    text NOT NULL,
    record_id     text NOT NULL,
    job_id        text NOT NULL,
    held_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (connection_id, data_model, record_id)
);

CREATE TABLE model_state (
    connection_id  text NOT NULL,
    data_model     text NOT NULL,
    last_synced_at timestamptz,
    last_status    text,
    last_error     text,
    held_deletions int NOT NULL DEFAULT 0,
    PRIMARY KEY (connection_id, data_model)
);

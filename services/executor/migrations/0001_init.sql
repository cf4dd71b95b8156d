-- Sync jobs: one per (request, data model), with the checkpoint a resumed run starts from.
CREATE TABLE jobs (
    id               text PRIMARY KEY,
    project_id       text,
    connection_id    text NOT NULL,
    provider_name    text NOT NULL,
    data_model       text NOT NULL,
    status           text NOT NULL,
    -- fetching: the worker pages through the provider; finishing: the end marker is sent and
    -- the records service is comparing; done: a terminal status is set.
    phase            text NOT NULL DEFAULT 'fetching',
    attempt          int NOT NULL DEFAULT 0,
    batch_id         text,
    trigger          text NOT NULL DEFAULT 'manual',
    is_initial_sync  boolean NOT NULL DEFAULT false,
    is_one_off       boolean NOT NULL DEFAULT false,
    full_sync        boolean NOT NULL DEFAULT false,
    sync_from        date,
    pagination_state jsonb NOT NULL DEFAULT '{}',
    timerange_start  timestamptz,
    timerange_end    timestamptz,
    counts           jsonb NOT NULL DEFAULT '{}',
    error            text,
    run_after        timestamptz NOT NULL DEFAULT now(),
    lease_owner      text,
    lease_until      timestamptz,
    cancel_requested boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    modified_at      timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    completed_at     timestamptz
);
CREATE INDEX jobs_connection ON jobs (connection_id, id DESC);
CREATE INDEX jobs_due ON jobs (run_after) WHERE status IN ('queued', 'pending_retry');
CREATE INDEX jobs_leases ON jobs (lease_until) WHERE status = 'running' AND phase = 'fetching';
-- Never two runs of one (connection, model) at once, and at most one waiting behind it.
CREATE UNIQUE INDEX jobs_one_running ON jobs (connection_id, data_model) WHERE status = 'running';
CREATE UNIQUE INDEX jobs_one_waiting ON jobs (connection_id, data_model)
    WHERE status IN ('scheduled', 'queued', 'pending_retry');

-- Per (connection, model): where the next incremental sync starts, and how the last one ended.
CREATE TABLE model_state (
    connection_id    text NOT NULL,
    data_model       text NOT NULL,
    high_water_mark  timestamptz,
    last_synced_at   timestamptz,
    last_status      text,
    last_error       text,
    PRIMARY KEY (connection_id, data_model)
);

-- A provider's "slow down" applies to every job of the connection, on every executor.
CREATE TABLE rate_limits (
    connection_id text PRIMARY KEY,
    blocked_until timestamptz NOT NULL
);

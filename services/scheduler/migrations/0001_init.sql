-- What the scheduler knows of each connection (from connection.changed), newest version only.
CREATE TABLE connections (
    connection_id            text PRIMARY KEY,
    project_id               text,
    provider_name            text NOT NULL,
    status                   text NOT NULL,
    full_sync_interval_hours int NOT NULL DEFAULT 24,
    version                  bigint NOT NULL DEFAULT 0
);

-- One row per (connection, enabled data model).
CREATE TABLE schedules (
    connection_id      text NOT NULL REFERENCES connections (connection_id) ON DELETE CASCADE,
    data_model         text NOT NULL,
    frequency          text NOT NULL,
    interval_minutes   int NOT NULL,
    sync_from          date,
    next_run_at        timestamptz NOT NULL,
    next_full_sync_at  timestamptz NOT NULL,
    paused             boolean NOT NULL DEFAULT true,
    initial_requested  boolean NOT NULL DEFAULT false,
    last_run_at        timestamptz,
    PRIMARY KEY (connection_id, data_model)
);
CREATE INDEX schedules_due ON schedules (least(next_run_at, next_full_sync_at)) WHERE NOT paused;

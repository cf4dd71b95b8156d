-- The sync status of each data model is derived here, from the events that say it.

-- The connection's requested data models, in its order: sync-status lists each one.
ALTER TABLE connections ADD COLUMN data_models text[] NOT NULL DEFAULT '{}';

-- Each job as its newest `sync.job.changed` said. A model can hold two active jobs (one
-- running, one waiting behind it), so the state is per job; a finished job's row stays (pruned
-- after the history retention) so that a late event of it cannot make the model active again.
CREATE TABLE job_states (
    job_id        text PRIMARY KEY,
    connection_id text NOT NULL,
    data_model    text NOT NULL,
    status        text NOT NULL,
    changed_at    timestamptz NOT NULL
);
CREATE INDEX job_states_model ON job_states (connection_id, data_model);
CREATE INDEX job_states_changed ON job_states (changed_at);

-- How the newest job of each (connection, model) ended. `outcome_job_id` and `outcome_rank`
-- order the outcomes: job ids sort by creation time, and for one job `sync.completed` (rank 1)
-- outranks the executor's own failure of it (rank 0), so a late event cannot regress the state.
CREATE TABLE model_outcomes (
    connection_id  text NOT NULL,
    data_model     text NOT NULL,
    outcome_job_id text NOT NULL,
    outcome_rank   int NOT NULL,
    last_status    text NOT NULL,
    last_error     text,
    last_synced_at timestamptz,
    held_deletions int NOT NULL DEFAULT 0,
    PRIMARY KEY (connection_id, data_model)
);

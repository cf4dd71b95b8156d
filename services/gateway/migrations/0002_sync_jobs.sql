-- The gateway's copy of each sync job, so a job poll (`GET /v1/syncs/{id}`) is answered here
-- without a call to the executor, which owns the jobs. Written from `sync.job.changed` and from
-- the executor's own answers; the highest `version` of the job's row wins, whatever order the
-- copies arrive in. `body` is the job's public JSON as the API answers it (text: jsonb would
-- reorder its keys). `seen_at`: when the executor said this version was the job's newest; a
-- copy older than `FERRY_JOB_COPY_MAX_AGE_SECONDS` is asked of the executor again.
CREATE TABLE sync_jobs (
    id            text PRIMARY KEY,
    project_id    text,
    connection_id text NOT NULL,
    version       bigint NOT NULL,
    body          text NOT NULL,
    seen_at       timestamptz NOT NULL
);
CREATE INDEX sync_jobs_seen ON sync_jobs (seen_at);

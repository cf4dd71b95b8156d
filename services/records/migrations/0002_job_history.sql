-- When a job's counts were first written, so the history can be pruned past its retention.
ALTER TABLE jobs ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX jobs_created ON jobs (created_at);

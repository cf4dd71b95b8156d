-- A job row's version: one more on every change of the row, whichever statement makes it. The
-- gateway keeps a copy of each job (from `sync.job.changed` and from this service's answers) and
-- keeps the highest version it is given, so copies reaching it out of order change nothing.
-- A trigger rather than `version = version + 1` in each UPDATE: no statement can forget it.
ALTER TABLE jobs ADD COLUMN version bigint NOT NULL DEFAULT 0;

CREATE FUNCTION jobs_next_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := OLD.version + 1;
    RETURN NEW;
END
$$;

CREATE TRIGGER jobs_version BEFORE UPDATE ON jobs
    FOR EACH ROW EXECUTE FUNCTION jobs_next_version();

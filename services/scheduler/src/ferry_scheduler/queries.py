"""Every SQL statement of the scheduler, named; only `repository.py` runs them."""

CONNECTION_FOR_UPDATE = """
SELECT connection_id, project_id, provider_name, status, full_sync_interval_hours, version,
       data_models
FROM connections WHERE connection_id = $1 FOR UPDATE
"""

CONNECTION = """
SELECT connection_id, project_id, provider_name, status, full_sync_interval_hours, version,
       data_models
FROM connections WHERE connection_id = $1
"""

UPSERT_CONNECTION = """
INSERT INTO connections (connection_id, project_id, provider_name, status,
                         full_sync_interval_hours, version, data_models)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (connection_id) DO UPDATE SET
    project_id = EXCLUDED.project_id, provider_name = EXCLUDED.provider_name,
    status = EXCLUDED.status, full_sync_interval_hours = EXCLUDED.full_sync_interval_hours,
    version = EXCLUDED.version, data_models = EXCLUDED.data_models
"""

DELETE_CONNECTION = "DELETE FROM connections WHERE connection_id = $1"
DELETE_JOB_STATES = "DELETE FROM job_states WHERE connection_id = $1"
DELETE_OUTCOMES = "DELETE FROM model_outcomes WHERE connection_id = $1"

# A finished job stays finished; otherwise the newest event of a job wins.
UPSERT_JOB_STATE = """
INSERT INTO job_states (job_id, connection_id, data_model, status, changed_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (job_id) DO UPDATE SET status = EXCLUDED.status, changed_at = EXCLUDED.changed_at
WHERE job_states.status = ANY($6::text[]) AND job_states.changed_at <= EXCLUDED.changed_at
"""

# The outcome of a newer job (or a higher rank for the same job) replaces the stored one.
UPSERT_OUTCOME = """
INSERT INTO model_outcomes (connection_id, data_model, outcome_job_id, outcome_rank, last_status,
                            last_error, last_synced_at, held_deletions)
VALUES ($1, $2, $3, $4, $5, $6, $7, coalesce($8, 0))
ON CONFLICT (connection_id, data_model) DO UPDATE SET
    outcome_job_id = EXCLUDED.outcome_job_id, outcome_rank = EXCLUDED.outcome_rank,
    last_status = EXCLUDED.last_status, last_error = EXCLUDED.last_error,
    last_synced_at = greatest(model_outcomes.last_synced_at, EXCLUDED.last_synced_at),
    held_deletions = coalesce($8, model_outcomes.held_deletions)
WHERE (model_outcomes.outcome_job_id, model_outcomes.outcome_rank)
      <= (EXCLUDED.outcome_job_id, EXCLUDED.outcome_rank)
"""

MODEL_FACTS = """
SELECT m.data_model,
       EXISTS (SELECT 1 FROM job_states j WHERE j.connection_id = $1
               AND j.data_model = m.data_model AND j.status = ANY($2::text[])) AS active,
       o.last_status, o.last_error, o.last_synced_at,
       coalesce(o.held_deletions, 0) AS held_deletions
FROM (SELECT data_model FROM job_states WHERE connection_id = $1
      UNION SELECT data_model FROM model_outcomes WHERE connection_id = $1) m
LEFT JOIN model_outcomes o ON o.connection_id = $1 AND o.data_model = m.data_model
ORDER BY m.data_model
"""

# Finished jobs past the history retention; active ones stay whatever their age.
PRUNE_FINISHED_JOBS = """
DELETE FROM job_states WHERE job_id IN (
    SELECT job_id FROM job_states
    WHERE changed_at < $1 AND NOT (status = ANY($2::text[])) LIMIT $3)
"""

SCHEDULES = """
SELECT data_model, frequency, interval_minutes, next_run_at, next_full_sync_at, paused,
       last_run_at
FROM schedules WHERE connection_id = $1 ORDER BY data_model
"""

DELETE_OTHER_MODELS = """
DELETE FROM schedules WHERE connection_id = $1 AND NOT (data_model = ANY($2::text[]))
"""

# New rows run one interval (plus jitter) from now; a changed interval reschedules.
UPSERT_SCHEDULE = """
INSERT INTO schedules (connection_id, data_model, frequency, interval_minutes, sync_from,
                       next_run_at, next_full_sync_at, paused)
VALUES ($1, $2, $3, $4, $5,
        $9::timestamptz + make_interval(mins => $4) + make_interval(secs => random() * $6),
        $9::timestamptz + make_interval(hours => $7) + make_interval(secs => random() * $6), $8)
ON CONFLICT (connection_id, data_model) DO UPDATE SET
    frequency = EXCLUDED.frequency, sync_from = EXCLUDED.sync_from, paused = EXCLUDED.paused,
    interval_minutes = EXCLUDED.interval_minutes,
    next_run_at = CASE WHEN schedules.interval_minutes = EXCLUDED.interval_minutes
                       THEN schedules.next_run_at ELSE EXCLUDED.next_run_at END,
    next_full_sync_at = least(schedules.next_full_sync_at, EXCLUDED.next_full_sync_at)
"""

# Models of a connected connection that never had their initial sync requested.
TAKE_INITIAL = """
UPDATE schedules SET initial_requested = true, last_run_at = $2
WHERE connection_id = $1 AND NOT initial_requested AND NOT paused
RETURNING data_model, sync_from
"""

# Several schedulers may run: SKIP LOCKED hands each due row to one of them, which moves it
# to its next run (with jitter) in the same statement.
CLAIM_DUE = """
WITH due AS (
    SELECT s.connection_id, s.data_model, s.next_full_sync_at <= $4::timestamptz AS full
    FROM schedules s
    WHERE NOT s.paused AND least(s.next_run_at, s.next_full_sync_at) <= $4::timestamptz
    ORDER BY least(s.next_run_at, s.next_full_sync_at)
    LIMIT $1 FOR UPDATE SKIP LOCKED
)
UPDATE schedules s SET
    last_run_at = $4,
    next_run_at = $4::timestamptz + make_interval(mins => s.interval_minutes)
                  + make_interval(secs => random() * least($3, s.interval_minutes * 60 * $2)),
    next_full_sync_at = CASE WHEN due.full
        THEN $4::timestamptz + make_interval(hours => c.full_sync_interval_hours)
             + make_interval(secs => random() * least($3, c.full_sync_interval_hours * 3600 * $2))
        ELSE s.next_full_sync_at END
FROM due, connections c
WHERE s.connection_id = due.connection_id AND s.data_model = due.data_model
  AND c.connection_id = s.connection_id
RETURNING s.connection_id, s.data_model, s.sync_from, due.full, c.project_id, c.provider_name
"""

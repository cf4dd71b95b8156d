"""Every SQL statement of the executor, named; only `repository.py` runs them.

The status lists stay literal inside the statements: the partial indexes (`jobs_one_waiting`,
`jobs_due_order`, `jobs_active`, ...) are chosen, and `ON CONFLICT` inferred, only from the
same predicate text. They are spelled once here, as `_WAITING`, `_DUE` and `_ACTIVE`.
"""

from typing import Final

# Every column of `jobs`, in the order of `domain.Job`.
JOB: Final = """id, project_id, connection_id, provider_name, data_model, status, phase, attempt,
    batch_id, trigger, is_initial_sync, record_events, is_one_off, full_sync, sync_from,
    pagination_state, timerange_start, timerange_end, counts, error, run_after, lease_owner,
    lease_until, cancel_requested, created_at, modified_at, started_at, completed_at, version"""
_J: Final = ", ".join("j." + column.strip() for column in JOB.split(","))
_WAITING: Final = "('scheduled', 'queued', 'pending_retry')"
_DUE: Final = "('queued', 'pending_retry')"
_ACTIVE: Final = "('scheduled', 'queued', 'running', 'pending_retry')"
_FINISHED: Final = "('complete', 'failed', 'cancelled')"

WAITING_JOB = f"""
SELECT {JOB} FROM jobs
WHERE connection_id = $1 AND data_model = $2 AND status IN {_WAITING} FOR UPDATE
"""

INSERT_JOB = f"""
INSERT INTO jobs (id, project_id, connection_id, provider_name, data_model, status, batch_id,
                  trigger, is_initial_sync, record_events, is_one_off, full_sync, sync_from)
VALUES ($1, $2, $3, $4, $5, 'queued', $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (connection_id, data_model) WHERE status IN {_WAITING}
DO NOTHING RETURNING {JOB}
"""

# A coalesced request only widens what the waiting job fetches; a widened window restarts it
# (see `PgRepository.widen_waiting_job`). An initial request's say on record events wins; a
# request that says nothing keeps the job's.
WIDEN_WAITING_JOB = f"""
WITH widened AS (
    SELECT id, full_sync OR $2 AS full_sync,
           CASE WHEN $3::date IS NULL OR sync_from IS NULL THEN NULL
                ELSE least(sync_from, $3::date) END AS sync_from,
           full_sync AS was_full, sync_from AS was_from
    FROM jobs WHERE id = $1
), restart AS (
    SELECT id, (full_sync AND NOT was_full) OR sync_from IS DISTINCT FROM was_from AS yes
    FROM widened
)
UPDATE jobs j SET full_sync = w.full_sync, sync_from = w.sync_from,
       is_initial_sync = j.is_initial_sync OR $4,
       record_events = coalesce($5, j.record_events),
       pagination_state = CASE WHEN r.yes THEN jsonb_strip_nulls(jsonb_build_object(
           'failures', j.pagination_state->'failures')) ELSE j.pagination_state END,
       timerange_start = CASE WHEN r.yes THEN NULL ELSE j.timerange_start END,
       timerange_end = CASE WHEN r.yes THEN NULL ELSE j.timerange_end END,
       modified_at = now()
FROM widened w JOIN restart r USING (id)
WHERE j.id = w.id RETURNING {_J}
"""

GET_JOB = f"SELECT {JOB} FROM jobs WHERE id = $1"
GET_JOB_FOR_UPDATE = f"SELECT {JOB} FROM jobs WHERE id = $1 FOR UPDATE"

LIST_JOBS = f"""
SELECT {JOB} FROM jobs WHERE connection_id = $1
  AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR data_model = $3)
  AND ($4::text IS NULL OR id < $4)
ORDER BY id DESC LIMIT $5
"""

# The oldest due job whose (connection, model) has no run in progress.
CLAIM_NEXT = f"""
WITH next AS (
    SELECT j.id FROM jobs j
    WHERE j.status IN {_DUE} AND j.run_after <= now()
      AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.connection_id = j.connection_id
                      AND r.data_model = j.data_model AND r.status = 'running')
    ORDER BY j.run_after, j.id
    LIMIT 1 FOR UPDATE SKIP LOCKED
)
UPDATE jobs j SET status = 'running', phase = 'fetching', attempt = attempt + 1,
       lease_owner = $1, lease_until = now() + make_interval(secs => $2),
       started_at = coalesce(started_at, now()), modified_at = now(), error = NULL
FROM next WHERE j.id = next.id
RETURNING {_J}
"""

SECONDS_UNTIL_NEXT_DUE = f"""
SELECT extract(epoch FROM min(j.run_after) - now())::float8 FROM jobs j
WHERE j.status IN {_DUE}
  AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.connection_id = j.connection_id
                  AND r.data_model = j.data_model AND r.status = 'running')
"""

RENEW_LEASE = """
UPDATE jobs SET lease_until = now() + make_interval(secs => $3)
WHERE id = $1 AND lease_owner = $2 AND status = 'running' AND phase = 'fetching'
RETURNING cancel_requested
"""

TAKE_OVER = f"""
UPDATE jobs SET attempt = attempt + 1, lease_owner = $1,
       lease_until = now() + make_interval(secs => $2), modified_at = now(), error = NULL
WHERE id = (SELECT id FROM jobs WHERE status = 'running' AND phase = 'fetching'
            AND lease_until < now() ORDER BY lease_until LIMIT 1 FOR UPDATE SKIP LOCKED)
RETURNING {JOB}
"""

EXPIRED_LEASES = f"""
UPDATE jobs SET status = 'queued', lease_owner = NULL, lease_until = NULL, run_after = now(),
       modified_at = now()
WHERE id IN (SELECT j.id FROM jobs j WHERE j.status = 'running' AND j.phase = 'fetching'
               AND j.lease_until < now()
               AND NOT EXISTS (SELECT 1 FROM jobs w WHERE w.connection_id = j.connection_id
                               AND w.data_model = j.data_model AND w.status IN {_WAITING})
             FOR UPDATE SKIP LOCKED)
RETURNING {JOB}
"""

FAIL_STALE_FINISHING = f"""
UPDATE jobs SET status = 'failed', phase = 'done', error = $2, completed_at = now(),
       modified_at = now()
WHERE id IN (SELECT id FROM jobs WHERE status = 'running' AND phase = 'finishing'
             AND modified_at < now() - make_interval(secs => $1) FOR UPDATE SKIP LOCKED)
RETURNING {JOB}
"""

# Per page: answers only whether this worker still holds the job.
CHECKPOINT = """
UPDATE jobs SET pagination_state = $3,
       counts = jsonb_set(counts, '{fetched}', to_jsonb($4::bigint)),
       lease_until = now() + make_interval(secs => $5), modified_at = now()
WHERE id = $1 AND lease_owner = $2 AND status = 'running' AND phase = 'fetching'
RETURNING true
"""

# The same, answering the job as it now is (the checkpoints shown on `sync.job.changed`).
CHECKPOINT_JOB = CHECKPOINT.replace("RETURNING true", f"RETURNING {JOB}")

SET_WINDOW = "UPDATE jobs SET timerange_start = $2, timerange_end = $3 WHERE id = $1"

TRANSITION = f"""
UPDATE jobs SET status = $2, phase = $3, error = coalesce($5, error),
       run_after = coalesce($6, run_after),
       completed_at = CASE WHEN $7 THEN now() ELSE completed_at END,
       counts = CASE WHEN $8::jsonb IS NULL THEN counts ELSE $8::jsonb END,
       lease_owner = CASE WHEN $3 = 'fetching' AND $2 = 'running' THEN lease_owner ELSE NULL END,
       lease_until = CASE WHEN $3 = 'fetching' AND $2 = 'running' THEN lease_until ELSE NULL END,
       modified_at = now()
WHERE id = $1 AND ($4::text IS NULL OR lease_owner = $4) RETURNING {JOB}
"""

SET_COUNTS = "UPDATE jobs SET counts = $2 WHERE id = $1"

REQUEST_CANCEL = f"""
UPDATE jobs SET cancel_requested = true, modified_at = now() WHERE id = $1 RETURNING {JOB}
"""

HIGH_WATER_MARK = """
SELECT high_water_mark FROM model_state WHERE connection_id = $1 AND data_model = $2
"""

RECORD_OUTCOME = """
INSERT INTO model_state (connection_id, data_model, high_water_mark, last_synced_at,
                         last_status, last_error)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (connection_id, data_model) DO UPDATE SET
    high_water_mark = CASE WHEN $5 = 'complete'
                           THEN greatest(model_state.high_water_mark, EXCLUDED.high_water_mark)
                           ELSE model_state.high_water_mark END,
    last_synced_at = coalesce(EXCLUDED.last_synced_at, model_state.last_synced_at),
    last_status = EXCLUDED.last_status,
    last_error = EXCLUDED.last_error
"""

SUMMARY = f"""
WITH models AS (SELECT data_model FROM jobs WHERE connection_id = $1
                UNION SELECT data_model FROM model_state WHERE connection_id = $1)
SELECT m.data_model,
       (SELECT status FROM jobs j WHERE j.connection_id = $1 AND j.data_model = m.data_model
          AND j.status IN {_ACTIVE}
        ORDER BY (j.status = 'running') DESC, j.id LIMIT 1) AS status,
       s.last_status, s.last_error, s.last_synced_at
FROM models m LEFT JOIN model_state s ON s.connection_id = $1 AND s.data_model = m.data_model
ORDER BY m.data_model
"""

ACTIVE_JOBS_OF = f"""
SELECT {JOB} FROM jobs WHERE connection_id = $1 AND status IN {_ACTIVE} FOR UPDATE
"""

DELETE_JOBS_OF = "DELETE FROM jobs WHERE connection_id = $1"
DELETE_MODEL_STATE_OF = "DELETE FROM model_state WHERE connection_id = $1"
DELETE_RATE_LIMIT_OF = "DELETE FROM rate_limits WHERE connection_id = $1"

BLOCKED_UNTIL = """
SELECT blocked_until FROM rate_limits WHERE connection_id = $1 AND blocked_until > now()
"""

BLOCK = """
INSERT INTO rate_limits (connection_id, blocked_until)
VALUES ($1, now() + make_interval(secs => $2))
ON CONFLICT (connection_id) DO UPDATE
SET blocked_until = greatest(rate_limits.blocked_until, EXCLUDED.blocked_until)
"""

# Finished jobs past the history's retention (a model's state, kept apart, stays).
PRUNE_FINISHED = f"""
DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE status IN {_FINISHED}
    AND completed_at < now() - make_interval(secs => $1::float8 * 86400) LIMIT $2)
"""

CONNECTION_FOR_UPDATE = """
SELECT connection_id, project_id, provider_name, status, readable, version
FROM connections WHERE connection_id = $1 FOR UPDATE
"""

CONNECTION = """
SELECT connection_id, project_id, provider_name, status, readable, version
FROM connections WHERE connection_id = $1
"""

UPSERT_CONNECTION = """
INSERT INTO connections (connection_id, project_id, provider_name, status, readable, version)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (connection_id) DO UPDATE SET
    project_id = EXCLUDED.project_id, provider_name = EXCLUDED.provider_name,
    status = EXCLUDED.status, readable = EXCLUDED.readable, version = EXCLUDED.version
"""

DELETE_CONNECTION = "DELETE FROM connections WHERE connection_id = $1"

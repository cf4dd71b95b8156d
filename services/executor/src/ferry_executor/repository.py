"""All SQL of the executor. Functions take a connection so callers own the transaction."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import asyncpg
from ferry_kit.db import delete_in_batches

JOB_COLUMNS = "*"


async def waiting_job(conn: asyncpg.Connection, connection_id: str, data_model: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT * FROM jobs WHERE connection_id=$1 AND data_model=$2 "
        "AND status IN ('scheduled','queued','pending_retry') FOR UPDATE",
        connection_id, data_model,
    )


async def insert_job(conn: asyncpg.Connection, job: dict[str, Any]) -> asyncpg.Record | None:
    """Insert a queued job unless one already waits for that (connection, model)."""
    return await conn.fetchrow(
        """
        INSERT INTO jobs (id, project_id, connection_id, provider_name, data_model, status, batch_id,
                          trigger, is_initial_sync, is_one_off, full_sync, sync_from)
        VALUES ($1,$2,$3,$4,$5,'queued',$6,$7,$8,$9,$10,$11)
        ON CONFLICT (connection_id, data_model) WHERE status IN ('scheduled','queued','pending_retry')
        DO NOTHING RETURNING *
        """,
        job["id"], job["project_id"], job["connection_id"], job["provider_name"], job["data_model"],
        job["batch_id"], job["trigger"], job["is_initial_sync"], job["is_one_off"], job["full_sync"],
        job["sync_from"],
    )


async def widen_waiting_job(
    conn: asyncpg.Connection, job_id: str, *, full_sync: bool, sync_from: date | None, is_initial_sync: bool
) -> asyncpg.Record:
    """A coalesced request can only widen what the waiting job will fetch, never narrow it.

    A job parked mid-run keeps its window and checkpoint in `pagination_state`. When the request
    widens it (a full sync, an earlier `sync_from`), that window no longer covers what is asked:
    the job starts over with a fresh window (its retry count stays). Kept, an incremental window
    under a full sync would call every record unchanged since the high-water mark deleted.
    """
    return await conn.fetchrow(
        """
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
               pagination_state = CASE WHEN r.yes THEN jsonb_strip_nulls(jsonb_build_object(
                   'failures', j.pagination_state->'failures')) ELSE j.pagination_state END,
               timerange_start = CASE WHEN r.yes THEN NULL ELSE j.timerange_start END,
               timerange_end = CASE WHEN r.yes THEN NULL ELSE j.timerange_end END,
               modified_at = now()
        FROM widened w JOIN restart r USING (id)
        WHERE j.id = w.id RETURNING j.*
        """,
        job_id, full_sync, sync_from, is_initial_sync,
    )


async def get_job(conn: asyncpg.Connection, job_id: str, *, lock: bool = False) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM jobs WHERE id=$1" + (" FOR UPDATE" if lock else ""), job_id)


async def list_jobs(
    conn: asyncpg.Connection, connection_id: str, *, status: str | None, data_model: str | None,
    limit: int, before_id: str | None,
) -> list[asyncpg.Record]:
    return await conn.fetch(
        """
        SELECT * FROM jobs WHERE connection_id=$1
          AND ($2::text IS NULL OR status=$2) AND ($3::text IS NULL OR data_model=$3)
          AND ($4::text IS NULL OR id < $4)
        ORDER BY id DESC LIMIT $5
        """,
        connection_id, status, data_model, before_id, limit,
    )


async def claim_next(conn: asyncpg.Connection, owner: str, lease_seconds: float) -> asyncpg.Record | None:
    """Take over a run whose worker died, else the oldest due job whose (connection, model) has
    no run in progress."""
    return await take_over(conn, owner, lease_seconds) or await conn.fetchrow(
        """
        WITH next AS (
            SELECT j.id FROM jobs j
            WHERE j.status IN ('queued','pending_retry') AND j.run_after <= now()
              AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.connection_id = j.connection_id
                              AND r.data_model = j.data_model AND r.status = 'running')
            ORDER BY j.run_after, j.id
            LIMIT 1 FOR UPDATE SKIP LOCKED
        )
        UPDATE jobs SET status='running', phase='fetching', attempt = attempt + 1,
               lease_owner=$1, lease_until = now() + make_interval(secs => $2),
               started_at = coalesce(started_at, now()), modified_at = now(), error = NULL
        FROM next WHERE jobs.id = next.id
        RETURNING jobs.*
        """,
        owner, lease_seconds,
    )


async def seconds_until_next_due(conn: asyncpg.Connection) -> float | None:
    """Seconds until the next waiting job that no run blocks is due (≤ 0: now); None: none."""
    return await conn.fetchval(
        """
        SELECT extract(epoch FROM min(j.run_after) - now())::float8 FROM jobs j
        WHERE j.status IN ('queued','pending_retry')
          AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.connection_id = j.connection_id
                          AND r.data_model = j.data_model AND r.status = 'running')
        """
    )


async def renew_lease(conn: asyncpg.Connection, job_id: str, owner: str, lease_seconds: float) -> bool | None:
    """Extend a run's lease; None when the worker no longer holds the job, else `cancel_requested`."""
    return await conn.fetchval(
        "UPDATE jobs SET lease_until = now() + make_interval(secs => $3) "
        "WHERE id=$1 AND lease_owner=$2 AND status='running' AND phase='fetching' RETURNING cancel_requested",
        job_id, owner, lease_seconds,
    )


async def take_over(conn: asyncpg.Connection, owner: str, lease_seconds: float) -> asyncpg.Record | None:
    """A run whose lease expired (its worker died), leased to `owner` to resume from its
    checkpoint. Runs with a job waiting behind them come back this way: `expired_leases` cannot
    queue them again, as their (connection, model) already has its one waiting job."""
    return await conn.fetchrow(
        """
        UPDATE jobs SET attempt = attempt + 1, lease_owner=$1,
               lease_until = now() + make_interval(secs => $2), modified_at = now(), error = NULL
        WHERE id = (SELECT id FROM jobs WHERE status='running' AND phase='fetching'
                    AND lease_until < now() ORDER BY lease_until LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING *
        """,
        owner, lease_seconds,
    )


async def expired_leases(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Runs whose lease expired, queued again (those with a job waiting behind them are left
    to `take_over`: queueing them would break the one waiting job of their model)."""
    return await conn.fetch(
        """
        UPDATE jobs SET status='queued', lease_owner=NULL, lease_until=NULL, run_after=now(), modified_at=now()
        WHERE id IN (SELECT j.id FROM jobs j WHERE j.status='running' AND j.phase='fetching'
                       AND j.lease_until < now()
                       AND NOT EXISTS (SELECT 1 FROM jobs w WHERE w.connection_id = j.connection_id
                                       AND w.data_model = j.data_model
                                       AND w.status IN ('scheduled', 'queued', 'pending_retry'))
                     FOR UPDATE SKIP LOCKED)
        RETURNING *
        """
    )


async def fail_stale_finishing(
    conn: asyncpg.Connection, seconds: float, error: str
) -> list[asyncpg.Record]:
    """Fail runs whose end marker went out `seconds` ago with no `sync.completed` since."""
    return await conn.fetch(
        """
        UPDATE jobs SET status='failed', phase='done', error=$2, completed_at=now(),
               modified_at=now()
        WHERE id IN (SELECT id FROM jobs WHERE status='running' AND phase='finishing'
                     AND modified_at < now() - make_interval(secs => $1) FOR UPDATE SKIP LOCKED)
        RETURNING *
        """,
        seconds, error,
    )


async def checkpoint(
    conn: asyncpg.Connection, job_id: str, owner: str, state: dict[str, Any], fetched: int, lease_seconds: float
) -> asyncpg.Record | None:
    """Save a page's checkpoint if this worker still holds the job."""
    return await conn.fetchrow(
        """
        UPDATE jobs SET pagination_state=$3, counts = jsonb_set(counts, '{fetched}', to_jsonb($4::bigint)),
               lease_until = now() + make_interval(secs => $5), modified_at = now()
        WHERE id=$1 AND lease_owner=$2 AND status='running' AND phase='fetching'
        RETURNING *
        """,
        job_id, owner, state, fetched, lease_seconds,
    )


async def set_window(conn: asyncpg.Connection, job_id: str, start: datetime | None, end: datetime) -> None:
    await conn.execute(
        "UPDATE jobs SET timerange_start=$2, timerange_end=$3 WHERE id=$1", job_id, start, end
    )


async def transition(
    conn: asyncpg.Connection, job_id: str, *, status: str, phase: str, owner: str | None = None,
    error: str | None = None, run_after: datetime | None = None, completed: bool = False,
    counts: dict[str, Any] | None = None,
) -> asyncpg.Record | None:
    """Move a job to `status`; with `owner`, only if that worker still holds it."""
    return await conn.fetchrow(
        """
        UPDATE jobs SET status=$2, phase=$3, error=coalesce($5, error),
               run_after = coalesce($6, run_after),
               completed_at = CASE WHEN $7 THEN now() ELSE completed_at END,
               counts = CASE WHEN $8::jsonb IS NULL THEN counts ELSE $8::jsonb END,
               lease_owner = CASE WHEN $3 = 'fetching' AND $2 = 'running' THEN lease_owner ELSE NULL END,
               lease_until = CASE WHEN $3 = 'fetching' AND $2 = 'running' THEN lease_until ELSE NULL END,
               modified_at = now()
        WHERE id=$1 AND ($4::text IS NULL OR lease_owner=$4) RETURNING *
        """,
        job_id, status, phase, owner, error, run_after, completed, counts,
    )


async def request_cancel(conn: asyncpg.Connection, job_id: str) -> None:
    await conn.execute("UPDATE jobs SET cancel_requested=true, modified_at=now() WHERE id=$1", job_id)


async def model_state(conn: asyncpg.Connection, connection_id: str, data_model: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT * FROM model_state WHERE connection_id=$1 AND data_model=$2", connection_id, data_model
    )


async def record_outcome(
    conn: asyncpg.Connection, connection_id: str, data_model: str, *, status: str, error: str | None,
    high_water_mark: datetime | None, last_synced_at: datetime | None,
) -> None:
    await conn.execute(
        """
        INSERT INTO model_state (connection_id, data_model, high_water_mark, last_synced_at, last_status, last_error)
        VALUES ($1,$2,$3,$4,$5,$6)
        ON CONFLICT (connection_id, data_model) DO UPDATE SET
            high_water_mark = CASE WHEN $5 = 'complete' THEN greatest(model_state.high_water_mark, EXCLUDED.high_water_mark)
                                   ELSE model_state.high_water_mark END,
            last_synced_at = coalesce(EXCLUDED.last_synced_at, model_state.last_synced_at),
            last_status = EXCLUDED.last_status,
            last_error = EXCLUDED.last_error
        """,
        connection_id, data_model, high_water_mark, last_synced_at, status, error,
    )


async def summary(conn: asyncpg.Connection, connection_id: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        """
        WITH models AS (SELECT data_model FROM jobs WHERE connection_id=$1
                        UNION SELECT data_model FROM model_state WHERE connection_id=$1)
        SELECT m.data_model, s.last_synced_at, s.last_status, s.last_error,
               (SELECT status FROM jobs j WHERE j.connection_id=$1 AND j.data_model=m.data_model
                  AND j.status IN ('scheduled','queued','running','pending_retry')
                ORDER BY (j.status = 'running') DESC, j.id LIMIT 1) AS status
        FROM models m LEFT JOIN model_state s ON s.connection_id=$1 AND s.data_model=m.data_model
        ORDER BY m.data_model
        """,
        connection_id,
    )


async def active_jobs_of(conn: asyncpg.Connection, connection_id: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT * FROM jobs WHERE connection_id=$1 AND status IN ('scheduled','queued','running','pending_retry') FOR UPDATE",
        connection_id,
    )


async def purge_connection(conn: asyncpg.Connection, connection_id: str) -> None:
    await conn.execute("DELETE FROM jobs WHERE connection_id=$1", connection_id)
    await conn.execute("DELETE FROM model_state WHERE connection_id=$1", connection_id)
    await conn.execute("DELETE FROM rate_limits WHERE connection_id=$1", connection_id)


async def blocked_until(conn: asyncpg.Connection, connection_id: str) -> datetime | None:
    return await conn.fetchval(
        "SELECT blocked_until FROM rate_limits WHERE connection_id=$1 AND blocked_until > now()", connection_id
    )


async def block(conn: asyncpg.Connection, connection_id: str, seconds: float) -> None:
    await conn.execute(
        """
        INSERT INTO rate_limits (connection_id, blocked_until) VALUES ($1, now() + make_interval(secs => $2))
        ON CONFLICT (connection_id) DO UPDATE SET blocked_until = greatest(rate_limits.blocked_until, EXCLUDED.blocked_until)
        """,
        connection_id, seconds,
    )


async def prune_finished(conn: asyncpg.Connection, older_than_days: float) -> int:
    """Finished jobs past the history's retention (a model's state, kept apart, stays)."""
    return await delete_in_batches(
        conn,
        "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE status IN ('complete', 'failed', 'cancelled') "
        "AND completed_at < now() - make_interval(secs => $1::float8 * 86400) LIMIT $2)",
        older_than_days,
    )

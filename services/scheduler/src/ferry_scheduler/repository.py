"""All SQL of the scheduler."""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg


async def connection(conn: asyncpg.Connection, connection_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM connections WHERE connection_id=$1 FOR UPDATE", connection_id)


async def upsert_connection(conn: asyncpg.Connection, c: dict[str, Any]) -> None:
    await conn.execute(
        """
        INSERT INTO connections (connection_id, project_id, provider_name, status, full_sync_interval_hours, version)
        VALUES ($1,$2,$3,$4,$5,$6)
        ON CONFLICT (connection_id) DO UPDATE SET project_id=EXCLUDED.project_id, provider_name=EXCLUDED.provider_name,
            status=EXCLUDED.status, full_sync_interval_hours=EXCLUDED.full_sync_interval_hours, version=EXCLUDED.version
        """,
        c["connection_id"], c["project_id"], c["provider_name"], c["status"], c["full_sync_interval_hours"], c["version"],
    )


async def delete_connection(conn: asyncpg.Connection, connection_id: str) -> None:
    await conn.execute("DELETE FROM connections WHERE connection_id=$1", connection_id)


async def schedules(conn: asyncpg.Connection, connection_id: str) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM schedules WHERE connection_id=$1 ORDER BY data_model", connection_id)


async def remove_models(conn: asyncpg.Connection, connection_id: str, keep: list[str]) -> None:
    await conn.execute(
        "DELETE FROM schedules WHERE connection_id=$1 AND NOT (data_model = ANY($2::text[]))", connection_id, keep
    )


async def upsert_schedule(
    conn: asyncpg.Connection, connection_id: str, data_model: str, *, frequency: str, interval: int,
    sync_from: date | None, jitter: float, full_hours: int, paused: bool,
) -> None:
    """New rows run one interval (plus jitter) from now; a changed interval reschedules."""
    await conn.execute(
        """
        INSERT INTO schedules (connection_id, data_model, frequency, interval_minutes, sync_from,
                               next_run_at, next_full_sync_at, paused)
        VALUES ($1,$2,$3,$4,$5,
                now() + make_interval(mins => $4) + make_interval(secs => random() * $6),
                now() + make_interval(hours => $7) + make_interval(secs => random() * $6), $8)
        ON CONFLICT (connection_id, data_model) DO UPDATE SET
            frequency=EXCLUDED.frequency, sync_from=EXCLUDED.sync_from, paused=EXCLUDED.paused,
            interval_minutes=EXCLUDED.interval_minutes,
            next_run_at = CASE WHEN schedules.interval_minutes = EXCLUDED.interval_minutes THEN schedules.next_run_at
                               ELSE EXCLUDED.next_run_at END,
            next_full_sync_at = least(schedules.next_full_sync_at, EXCLUDED.next_full_sync_at)
        """,
        connection_id, data_model, frequency, interval, sync_from, jitter, full_hours, paused,
    )


async def take_initial(conn: asyncpg.Connection, connection_id: str) -> list[asyncpg.Record]:
    """Models of a connected connection that never had their initial sync requested."""
    return await conn.fetch(
        "UPDATE schedules SET initial_requested=true, last_run_at=now() "
        "WHERE connection_id=$1 AND NOT initial_requested AND NOT paused RETURNING data_model, sync_from",
        connection_id,
    )


async def claim_due(conn: asyncpg.Connection, limit: int, jitter_fraction: float, max_jitter: float) -> list[asyncpg.Record]:
    """Claim due rows (several schedulers may run: SKIP LOCKED) and move them to their next run."""
    return await conn.fetch(
        """
        WITH due AS (
            SELECT s.connection_id, s.data_model, s.next_full_sync_at <= now() AS full
            FROM schedules s
            WHERE NOT s.paused AND least(s.next_run_at, s.next_full_sync_at) <= now()
            ORDER BY least(s.next_run_at, s.next_full_sync_at)
            LIMIT $1 FOR UPDATE SKIP LOCKED
        )
        UPDATE schedules s SET
            last_run_at = now(),
            next_run_at = now() + make_interval(mins => s.interval_minutes)
                          + make_interval(secs => random() * least($3, s.interval_minutes * 60 * $2)),
            next_full_sync_at = CASE WHEN due.full
                THEN now() + make_interval(hours => c.full_sync_interval_hours)
                     + make_interval(secs => random() * least($3, c.full_sync_interval_hours * 3600 * $2))
                ELSE s.next_full_sync_at END
        FROM due, connections c
        WHERE s.connection_id = due.connection_id AND s.data_model = due.data_model
          AND c.connection_id = s.connection_id
        RETURNING s.connection_id, s.data_model, s.sync_from, due.full, c.project_id, c.provider_name
        """,
        limit, jitter_fraction, max_jitter,
    )

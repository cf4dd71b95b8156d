"""What the records service knows of connections: tombstones, purge, per-model sync state."""

from __future__ import annotations

from datetime import datetime

import asyncpg


async def connection(conn: asyncpg.Connection, connection_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM connections WHERE connection_id=$1", connection_id)


async def remember_connection(conn: asyncpg.Connection, connection_id: str, project_id: str | None,
                              record_events: bool | None = None) -> None:
    await conn.execute(
        """
        INSERT INTO connections (connection_id, project_id, initial_sync_record_events)
        VALUES ($1, $2, coalesce($3, false))
        ON CONFLICT (connection_id) DO UPDATE SET
            project_id = coalesce(EXCLUDED.project_id, connections.project_id),
            initial_sync_record_events = coalesce($3, connections.initial_sync_record_events)
        """,
        connection_id, project_id, record_events,
    )


async def purge_connection(conn: asyncpg.Connection, connection_id: str) -> None:
    """Every record, count and hold of a deleted connection; a tombstone stays."""
    await conn.execute("DELETE FROM records WHERE connection_id=$1", connection_id)
    await conn.execute("DELETE FROM record_versions WHERE connection_id=$1", connection_id)
    await conn.execute("DELETE FROM seen WHERE job_id IN (SELECT job_id FROM jobs WHERE connection_id=$1)", connection_id)
    await conn.execute("DELETE FROM jobs WHERE connection_id=$1", connection_id)
    await conn.execute("DELETE FROM held_deletions WHERE connection_id=$1", connection_id)
    await conn.execute("DELETE FROM model_state WHERE connection_id=$1", connection_id)
    await conn.execute("DELETE FROM cursors WHERE connection_id=$1", connection_id)
    await conn.execute(
        "INSERT INTO connections (connection_id, deleted) VALUES ($1, true) "
        "ON CONFLICT (connection_id) DO UPDATE SET deleted = true", connection_id,
    )


async def set_model_state(conn: asyncpg.Connection, connection_id: str, data_model: str, *, status: str,
                          error: str | None, synced_at: datetime | None, held: int | None) -> None:
    await conn.execute(
        """
        INSERT INTO model_state (connection_id, data_model, last_synced_at, last_status, last_error, held_deletions)
        VALUES ($1,$2,$3,$4,$5,coalesce($6, 0))
        ON CONFLICT (connection_id, data_model) DO UPDATE SET
            last_synced_at = coalesce(EXCLUDED.last_synced_at, model_state.last_synced_at),
            last_status = EXCLUDED.last_status, last_error = EXCLUDED.last_error,
            held_deletions = coalesce($6, model_state.held_deletions)
        """,
        connection_id, data_model, synced_at, status, error, held,
    )


async def model_states(conn: asyncpg.Connection, connection_id: str) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM model_state WHERE connection_id=$1 ORDER BY data_model", connection_id)

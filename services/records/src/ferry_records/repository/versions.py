"""The update history of records: one row per update with its field changes."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson


async def add_versions(conn: asyncpg.Connection, connection_id: str, data_model: str,
                       updates: list[tuple[str, int, dict[str, Any]]]) -> None:
    """(record_id, cursor position, changed fields) of each update written in this transaction."""
    if not updates:
        return
    await conn.execute(
        """
        INSERT INTO record_versions (connection_id, data_model, record_id, position, changes)
        SELECT $1, $2, u.e->>0, (u.e->>1)::bigint, u.e->2
        FROM jsonb_array_elements($3::text::jsonb) AS u(e)
        ON CONFLICT DO NOTHING
        """,
        connection_id, data_model, orjson.dumps(updates).decode(),
    )


async def record_with_versions(conn: asyncpg.Connection, connection_id: str, data_model: str,
                               record_id: str) -> tuple[asyncpg.Record | None, list[asyncpg.Record]]:
    record = await conn.fetchrow(
        "SELECT record_id, data, version, action, position, first_seen_at, modified_at, deleted_at "
        "FROM records WHERE connection_id=$1 AND data_model=$2 AND record_id=$3",
        connection_id, data_model, record_id)
    if record is None:
        return None, []
    versions = await conn.fetch(
        "SELECT position, changes, recorded_at FROM record_versions "
        "WHERE connection_id=$1 AND data_model=$2 AND record_id=$3 ORDER BY position",
        connection_id, data_model, record_id)
    return record, versions

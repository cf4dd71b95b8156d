"""The change feed read by the records API."""

from __future__ import annotations

from datetime import datetime

import asyncpg


async def page_of_changes(conn: asyncpg.Connection, connection_id: str, data_model: str, *, after: int,
                          limit: int, include_deleted: bool, modified_after: datetime | None) -> list[asyncpg.Record]:
    return await conn.fetch(
        """
        SELECT record_id, data, action, first_seen_at, modified_at, deleted_at, position
        FROM records
        WHERE (connection_id || '/' || data_model) = ($1::text || '/' || $2::text) AND position > $3
          AND connection_id = $1 AND data_model = $2
          AND ($4 OR deleted_at IS NULL) AND ($5::timestamptz IS NULL OR modified_at > $5)
        ORDER BY position LIMIT $6
        """,
        connection_id, data_model, after, include_deleted, modified_after, limit,
    )

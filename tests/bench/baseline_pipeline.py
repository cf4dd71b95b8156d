"""The hand-written pipeline Ferry is measured against: httpx pages → asyncpg upsert with a hash.

What a competent engineer writes in an afternoon: read the provider's pages one after another,
hash each record's canonical JSON, and upsert the page into one table through a staging COPY
and one `INSERT ... ON CONFLICT DO UPDATE ... WHERE hash IS DISTINCT FROM`, one transaction per
page. It keeps no versions, diffs, change feed, deletions or events: it is the floor.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import asyncpg
import httpx
import orjson


async def prepare(conn: asyncpg.Connection, table: str) -> None:
    await conn.execute(f"DROP TABLE IF EXISTS {table}")
    await conn.execute(
        f"CREATE TABLE {table} (id text PRIMARY KEY, data jsonb NOT NULL, hash bytea NOT NULL,"
        " synced_at timestamptz NOT NULL DEFAULT now())"
    )


def _rows(records: list[dict]) -> list[tuple[str, str, bytes]]:
    out = []
    for record in records:
        canonical = orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
        out.append((str(record["id"]), canonical.decode(), hashlib.sha256(canonical).digest()))
    return out


async def _upsert(conn: asyncpg.Connection, table: str, records: list[dict]) -> int:
    async with conn.transaction():
        await conn.execute(f"TRUNCATE {table}_stage")
        await conn.copy_records_to_table(
            f"{table}_stage", records=_rows(records), columns=["id", "data", "hash"]
        )
        status = await conn.execute(
            f"INSERT INTO {table} (id, data, hash) SELECT id, data, hash FROM {table}_stage"
            f" ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data, hash = EXCLUDED.hash,"
            f" synced_at = now() WHERE {table}.hash IS DISTINCT FROM EXCLUDED.hash"
        )
    return int(status.rpartition(" ")[2])


async def sync(
    http: httpx.AsyncClient,
    conn: asyncpg.Connection,
    table: str,
    *,
    limit: int,
    since: datetime | None = None,
) -> tuple[int, int]:
    """Read every page of contacts (changed since `since`) into `table`: (read, written)."""
    await conn.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {table}_stage (LIKE {table} INCLUDING DEFAULTS)"
    )
    read = written = 0
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": limit}
        if since is not None:
            params["updated_since"] = since.isoformat()
        if cursor:
            params["cursor"] = cursor
        resp = await http.get("/api/contacts", params=params)
        resp.raise_for_status()
        body = resp.json()
        read += len(body["results"])
        written += await _upsert(conn, table, body["results"]) if body["results"] else 0
        cursor = body["next_cursor"]
        if cursor is None:
            return read, written

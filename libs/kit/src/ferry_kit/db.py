"""asyncpg pools pinned to one service's schema, with JSON codecs."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson


async def _init(conn: asyncpg.Connection) -> None:
    # Binary codecs, so COPY (which speaks binary) can carry JSON columns too.
    await conn.set_type_codec(
        "jsonb",
        encoder=lambda v: b"\x01" + orjson.dumps(v),
        decoder=lambda b: orjson.loads(b[1:]),
        schema="pg_catalog",
        format="binary",
    )
    await conn.set_type_codec(
        "json", encoder=orjson.dumps, decoder=orjson.loads, schema="pg_catalog", format="binary"
    )


async def create_pool(dsn: str, schema: str, *, min_size: int = 1, max_size: int = 10) -> Any:
    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        server_settings={"search_path": schema, "application_name": f"ferry-{schema}"},
        init=_init,
    )


async def connect(dsn: str, schema: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    await _init(conn)
    return conn


async def delete_in_batches(
    conn: asyncpg.Connection, sql: str, *args: Any, batch: int = 10_000
) -> int:
    """Run a DELETE whose last parameter is a batch size (`... IN (SELECT ... LIMIT $n)`) until
    it deletes less than a batch: no statement holds many row locks for long. Returns the total."""
    total = 0
    while True:
        n = int((await conn.execute(sql, *args, batch)).split()[-1])
        total += n
        if n < batch:
            return total

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


async def _no_session_state(conn: asyncpg.Connection) -> None:
    """What a pooled connection is reset with when released. asyncpg has already ended any open
    transaction and dropped its listeners by then; its default reset adds a round trip per release
    (`RESET ALL`, `UNLISTEN *`, `CLOSE ALL`, unlocking session advisory locks) for session state
    that Ferry never leaves on a pooled connection: settings are `SET LOCAL`, advisory locks are
    `_xact_` ones, and LISTEN and session locks take a connection of their own (`connect`). The
    architecture test `test_pooled_sessions` holds the code to that. The round trip was ~100 µs
    of wall time per transaction, a page's checkpoint or an API read."""


async def create_pool(dsn: str, schema: str, *, min_size: int = 1, max_size: int = 10) -> Any:
    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        server_settings={"search_path": schema, "application_name": f"ferry-{schema}"},
        init=_init,
        reset=_no_session_state,
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

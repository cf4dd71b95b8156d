"""asyncpg pools pinned to one service's schema, with JSON codecs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

import asyncpg
import orjson

# Set while `statements` gives its connection back: the pool's reset then skips its query.
_PLAIN_RELEASE: ContextVar[bool] = ContextVar("ferry_plain_release", default=False)


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


async def _reset(conn: asyncpg.Connection) -> None:
    """What the pool does to a connection given back (after asyncpg's own rollback of an open
    transaction): asyncpg's reset query (advisory locks, cursors, LISTEN, settings), unless the
    connection ran only plain statements (`statements`)."""
    if _PLAIN_RELEASE.get():
        return
    query = conn.get_reset_query()
    if query:
        await conn.execute(query)


async def create_pool(dsn: str, schema: str, *, min_size: int = 1, max_size: int = 10) -> Any:
    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        server_settings={"search_path": schema, "application_name": f"ferry-{schema}"},
        init=_init,
        reset=_reset,
    )


@asynccontextmanager
async def statements(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection for statements that leave no session state behind (no SET, LISTEN,
    session advisory lock or cursor WITH HOLD: a repository's named queries), given back without
    the pool's reset query. That query is a round trip of its own, which a view's answer (a job's
    status poll) or a page's checkpoint would wait for. An open transaction is still rolled
    back."""
    conn = await pool.acquire()
    try:
        yield conn
    finally:
        token = _PLAIN_RELEASE.set(True)
        try:
            # asyncpg releases in a task of its own (shielded), which copies this context.
            await pool.release(conn)
        finally:
            _PLAIN_RELEASE.reset(token)


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

"""A pooled connection given back after plain statements skips the pool's reset query (a round
trip a view's answer waits for); any other use is still reset: settings, open transactions."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest
from ferry_kit import migrate
from ferry_kit.db import create_pool, statements
from ferry_kit.uow import UnitOfWorkFactory

EMPTY = Path(__file__).parent / "no_migrations"


@pytest.fixture
async def pool(infra, unique):
    schema = f"kit_release_{unique}"
    await migrate.apply(infra.dsn, schema, EMPTY)
    pool = await create_pool(infra.dsn, schema, min_size=1, max_size=1)
    yield pool
    async with pool.acquire() as conn:
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    await pool.close()


async def _last_query(pg: asyncpg.Connection, pid: int) -> str:
    return await pg.fetchval("SELECT query FROM pg_stat_activity WHERE pid = $1", pid)


async def test_a_view_gives_its_connection_back_without_the_reset_query(pool, pg):
    read = UnitOfWorkFactory(pool, lambda conn: conn).read
    async with read() as conn:
        pid = conn.get_server_pid()
        assert await conn.fetchval("SELECT 41 + 1") == 42
    assert await _last_query(pg, pid) == "SELECT 41 + 1"


async def test_any_other_use_of_the_pool_is_still_reset(pool, pg):
    async with pool.acquire() as conn:
        pid = conn.get_server_pid()
        await conn.execute("SET statement_timeout = 1234")
    assert "RESET ALL" in await _last_query(pg, pid)
    async with pool.acquire() as conn:  # the pool holds one connection: the same one
        assert conn.get_server_pid() == pid
        assert await conn.fetchval("SHOW statement_timeout") == "0"


async def test_plain_statements_left_in_a_transaction_are_rolled_back(pool):
    async with statements(pool) as conn:
        await conn.execute("CREATE TABLE scratch (x int)")
        await conn.execute("BEGIN")
        await conn.execute("INSERT INTO scratch VALUES (1)")
    async with statements(pool) as conn:
        assert await conn.fetchval("SELECT count(*) FROM scratch") == 0
        assert not conn.is_in_transaction()

"""A pooled connection goes back to the pool without asyncpg's reset query (a round trip a view's
answer or a page's checkpoint would wait for): Ferry leaves no session state on one (see
tests/unit/architecture/test_pooled_sessions.py); an open transaction is still rolled back."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest
from ferry_kit import migrate
from ferry_kit.db import create_pool
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


async def test_a_unit_of_work_gives_its_connection_back_without_the_reset_query(pool, pg):
    make = UnitOfWorkFactory(pool, lambda conn: conn)
    async with make() as uow:
        conn = uow.repos
        pid = conn.get_server_pid()
        await conn.execute("SET LOCAL statement_timeout = 1234")  # what Ferry's code may set
        await uow.commit()
    assert await _last_query(pg, pid) == "COMMIT;"
    async with pool.acquire() as conn:  # the pool holds one connection: the same one
        assert conn.get_server_pid() == pid
        assert await conn.fetchval("SHOW statement_timeout") == "0"


async def test_plain_statements_left_in_a_transaction_are_rolled_back(pool):
    async with pool.acquire() as conn:
        await conn.execute("CREATE TABLE scratch (x int)")
        await conn.execute("BEGIN")
        await conn.execute("INSERT INTO scratch VALUES (1)")
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM scratch") == 0
        assert not conn.is_in_transaction()

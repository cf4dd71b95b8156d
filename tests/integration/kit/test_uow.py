"""The Postgres unit of work: claim, effect and outbox rows commit or vanish together."""

from __future__ import annotations

from pathlib import Path

import pytest
from ferry_contracts import ConnectionChanged, Envelope
from ferry_kit import migrate
from ferry_kit.db import create_pool
from ferry_kit.uow import UnitOfWorkFactory

EMPTY = Path(__file__).parent / "no_migrations"


def _changed() -> Envelope[ConnectionChanged]:
    payload = ConnectionChanged(connection_id="c1", user_id="u", provider_name="sandbox",
                                status="CONNECTED")
    return Envelope.of(payload, project_id="p", connection_id="c1")


@pytest.fixture
async def pool(infra, unique):
    schema = f"kit_uow_{unique}"
    await migrate.apply(infra.dsn, schema, EMPTY)
    pool = await create_pool(infra.dsn, schema, max_size=2)
    yield pool
    async with pool.acquire() as conn:
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    await pool.close()


async def _counts(pool) -> tuple[int, int]:
    async with pool.acquire() as conn:
        return (await conn.fetchval("SELECT count(*) FROM inbox"),
                await conn.fetchval("SELECT count(*) FROM outbox"))


async def test_a_committed_unit_writes_its_claim_and_its_events_together(pool):
    uow_of = UnitOfWorkFactory(pool, lambda conn: conn)
    event = _changed()
    async with uow_of() as uow:
        assert await uow.claim(event)
        uow.emit(event.data, project_id="p")
        await uow.commit()
    assert await _counts(pool) == (1, 1)
    async with uow_of() as uow:
        assert not await uow.claim(event)


async def test_an_uncommitted_unit_leaves_no_claim_no_event_and_releases_its_connection(pool):
    uow_of = UnitOfWorkFactory(pool, lambda conn: conn)
    for _ in range(3):  # more than the pool holds: each unit gave its connection back
        with pytest.raises(RuntimeError):
            async with uow_of() as uow:
                await uow.claim(_changed())
                uow.emit(_changed())
                await uow.repos.execute("CREATE TABLE scratch (x int)")
                raise RuntimeError("handler failed")
    assert await _counts(pool) == (0, 0)
    async with uow_of.read() as conn:
        assert await conn.fetchval("SELECT to_regclass('scratch')") is None

"""The runtime's housekeeping: registered chores run, and processed ids past the inbox's
retention are pruned."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
from ferry_contracts.topics import CONNECTION_CHANGED
from ferry_kit.runtime import Runtime
from ferry_kit.settings import KitSettings

EMPTY = Path(__file__).parent / "no_migrations"


async def test_the_runtime_runs_registered_chores_and_prunes_the_inbox(service_env, scratch_schema):
    conn = await scratch_schema(EMPTY)
    name = await conn.fetchval("SELECT current_schema()")
    await conn.execute(
        "INSERT INTO inbox (event_id, topic, processed_at) VALUES "
        "(gen_random_uuid(), 't', now() - interval '8 days'), (gen_random_uuid(), 't', now())"
    )
    ran = asyncio.Event()

    async def chore(c: asyncpg.Connection) -> int:
        assert await c.fetchval("SELECT 1") == 1
        ran.set()
        return 3

    runtime = Runtime(name, KitSettings(), EMPTY)
    try:
        await runtime.open_database()

        async def broken(c: asyncpg.Connection) -> int:
            raise RuntimeError("a chore that fails")

        runtime.add_chore("broken", broken)  # must not keep the next chore from running
        runtime.add_chore("test", chore)

        async def ignore(events):
            return None

        await runtime.start_consumer({CONNECTION_CHANGED: ignore})
        await asyncio.wait_for(ran.wait(), 30)
        assert await conn.fetchval("SELECT count(*) FROM inbox") == 1  # the 8-day-old id is gone
    finally:
        await runtime.close()

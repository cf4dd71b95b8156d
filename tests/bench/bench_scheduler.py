"""Benchmark: due schedules claimed per second, with their `sync.requested` events written.

Inserts N due schedules (default 100,000) and lets the scheduler's claim loop fire them all
(claim with SKIP LOCKED, reschedule with jitter, outbox rows in the same transaction); prints
schedules/s. Run: `uv run python tests/bench/bench_scheduler.py [N] [batch]`.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from support.infra import start_infra  # noqa: E402


def main(n: int, batch: int) -> None:
    infra = start_infra()
    try:
        os.environ.update(infra.env())
        asyncio.run(run(infra, n, batch))
    finally:
        infra.stop()


async def run(infra, n: int, batch: int) -> None:
    from ferry_kit import db, migrate
    from ferry_kit.clock import SystemClock
    from ferry_kit.dispatch import command
    from ferry_kit.uow import UnitOfWorkFactory
    from ferry_scheduler.bootstrap import MIGRATIONS
    from ferry_scheduler.handlers import fire_due
    from ferry_scheduler.repository import PgRepository
    from ferry_scheduler.settings import Settings

    settings = Settings(scheduler_batch_size=batch)
    await migrate.apply(infra.dsn, "scheduler", MIGRATIONS)
    pool = await db.create_pool(infra.dsn, "scheduler")
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO connections (connection_id, project_id, provider_name, status) "
            "SELECT 'bench_' || i, 'p', 'sandbox', 'CONNECTED' FROM generate_series(1, $1) i",
            n,
        )
        await conn.execute(
            "INSERT INTO schedules (connection_id, data_model, frequency, interval_minutes, "
            "next_run_at, next_full_sync_at, paused, initial_requested) "
            "SELECT 'bench_' || i, 'CONTACTS', 'DAILY', 1440, now() - interval '1 minute', "
            "now() + interval '1 day', false, true "
            "FROM generate_series(1, $1) i",
            n,
        )
    fire = command(
        fire_due,
        UnitOfWorkFactory(pool, PgRepository),
        {"clock": SystemClock(), "settings": settings},
    )
    started = time.perf_counter()
    fired = 0
    while True:
        got = await fire()
        fired += got
        if got == 0:
            break
    elapsed = time.perf_counter() - started
    async with pool.acquire() as conn:
        events = await conn.fetchval("SELECT count(*) FROM outbox")
    print(f"schedules: {n:,}  batch: {batch}")
    print(
        f"fired: {fired:,} in {elapsed:.2f}s = {fired / elapsed:,.0f} schedules/s "
        f"({events:,} sync.requested events written)"
    )
    await pool.close()


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 100_000,
        int(sys.argv[2]) if len(sys.argv) > 2 else 1000,
    )

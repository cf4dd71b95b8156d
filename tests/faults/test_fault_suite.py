"""The fault suite: a large sync of several connections with changes landing meanwhile and a
full sync, while every fault is injected several times; then the ledger must balance.

Sizes from FERRY_FAULTS_* (see support/faultsuite/sizes.py); FERRY_FAULTS_SEED replays a run.
"""

from __future__ import annotations

import asyncio
import random
import time

import pytest
from support.faultsuite.faults import Injector, plan
from support.faultsuite.ledger import Ledger
from support.faultsuite.sizes import Sizes
from support.faultsuite.work import Work

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]


async def test_the_ledger_balances_after_every_fault(stack):
    sizes = Sizes.from_env()
    print(f"\nfault suite: {sizes}", flush=True)
    rng = random.Random(sizes.seed)
    work = Work(stack, sizes, rng)
    await work.setup()
    schedule = plan(rng, sizes.repeats, sizes.kinds)
    print("planned: " + ", ".join(f"{k} at {p:.0%}" for p, k in schedule), flush=True)
    injector = Injector(work, rng)
    running = asyncio.create_task(work.run())
    try:
        await injector.run(schedule)
        await running
    finally:
        running.cancel()
    await work.wait_jobs_terminal()
    await work.wait_delivered()
    print(f"work done in {time.monotonic() - work.started:.0f} s", flush=True)
    ledger = await Ledger(work).build()
    print(ledger.report(), flush=True)
    print(f"FAULTS (seed {sizes.seed})")
    for f in injector.log:
        print("  " + f.line(), flush=True)
    assert not ledger.problems, ledger.report()

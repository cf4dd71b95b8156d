"""Scale-out: 3 executor and 2 records processes in one consumer group each, through a sync of
several connections. SIGKILL an executor holding leased jobs and a records process: their
partitions and jobs move on, and the ledger holds."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import random

import pytest
from support.faultsuite.ledger import Ledger
from support.faultsuite.sizes import Sizes
from support.faultsuite.stack import FaultStack
from support.faultsuite.work import Work

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

REPLICAS = {"executor-2": "executor", "executor-3": "executor", "records-2": "records"}


@pytest.fixture
def scaled():
    """One job per executor process at a time, so that the jobs spread over the three."""
    s = FaultStack(FERRY_EXECUTOR_CONCURRENCY="1")
    try:
        yield s.start()
    finally:
        s.stop()


async def leaseholder(work: Work, names: list[str], timeout: float = 300) -> tuple[str, set[str]]:
    """The executor process that holds a running job's lease, and the jobs it holds."""
    pids = {str(work.platform.procs[n].proc.pid): n for n in names}
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        rows = await work.query("SELECT id, lease_owner FROM executor.jobs "
                                "WHERE status = 'running' AND lease_owner IS NOT NULL")
        held: dict[str, set[str]] = {}
        for r in rows:
            name = pids.get(r["lease_owner"].split(":")[1])
            if name:
                held.setdefault(name, set()).add(r["id"])
        if held:
            return max(held.items(), key=lambda kv: len(kv[1]))
        await asyncio.sleep(0.2)
    raise AssertionError("no executor process ever held a running job")


async def test_killed_replicas_hand_over_partitions_and_leased_jobs(scaled):
    stack = scaled
    sizes = dataclasses.replace(
        Sizes.from_env(), records=int(os.environ.get("FERRY_FAULTS_SCALE_RECORDS", 10_000)),
        connections=4, endpoints=1, change_rounds=2, changes_per_round=20)
    for replica, service in REPLICAS.items():
        await asyncio.to_thread(stack.platform.start_replica, service, replica)
    work = Work(stack, sizes, random.Random(sizes.seed))
    await work.setup()
    assert work.api is not None
    await work.api.faults(latency_ms=30)  # pages slow enough for the kill to land mid-sync
    running = asyncio.create_task(work.run())
    try:
        # A replica: the other services call the first process's internal API (one URL, as
        # compose's service name would balance over the replicas).
        victim, jobs = await leaseholder(work, ["executor-2", "executor-3"])
        while await work.stored() < sizes.records:  # records flowing through both processes
            await asyncio.sleep(0.2)
        stack.platform.procs[victim].kill()
        stack.platform.procs["records-2"].kill()
        print(f"\nkilled {victim} holding {len(jobs)} jobs, and records-2", flush=True)
        await work.api.faults()
        await running
    finally:
        running.cancel()
    rows = await work.query("SELECT id, status FROM executor.jobs WHERE id = ANY($1::text[])",
                            list(jobs))
    assert {r["status"] for r in rows} == {"complete"}, rows
    ledger = await Ledger(work).build()
    print(ledger.report(), flush=True)
    assert not ledger.problems, ledger.report()

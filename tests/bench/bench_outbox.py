"""Benchmark: the outbox path of an incremental sync's change feed, on the real broker and
Postgres: N `record.changed` events (an updated record of ~340 B and its diff each) written to
an outbox in transactions of `--per-tx` events, then published by the relay until the outbox is
empty. Prints the wall and CPU seconds of the writes and of the relay (this process) and of
Postgres. Run: `uv run python tests/bench/bench_outbox.py [--events N] [--per-tx M]`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ferry_contracts import Envelope  # noqa: E402
from ferry_contracts.records import RecordChanged  # noqa: E402
from ferry_kit import migrate, outbox  # noqa: E402
from ferry_kit.broker import ensure_topics  # noqa: E402
from ferry_kit.db import create_pool  # noqa: E402
from procstats import postgres_processes  # noqa: E402
from support.infra import start_infra  # noqa: E402

EMPTY = Path(__file__).resolve().parents[1] / "integration" / "kit" / "no_migrations"


def events(n: int, key: str) -> list[Envelope[Any]]:
    now = datetime.now(UTC)
    out: list[Envelope[Any]] = []
    for i in range(n):
        data = {"id": f"rec-{i}", "first_name": f"First{i}", "last_name": f"Last{i}",
                "email": f"person{i}@example.com", "phone": "+1-555-0100", "company": "Acme",
                "title": "Engineer", "city": "Springfield", "updated_at": now.isoformat(),
                "score": i % 97, "active": True}
        out.append(Envelope[RecordChanged].model_validate({
            "type": "record.changed", "project_id": "p", "connection_id": key,
            "data": {"data_model": "CONTACTS", "record_id": f"rec-{i}", "action": "updated",
                     "cursor": f"v1.{i}", "job_id": "job", "modified_at": now, "data": data,
                     "changed_fields": {"score": {"old": 0, "new": i % 97}}}}))
    return out


def cpu(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return t.user + t.system


def bcpu(broker: psutil.Process | None) -> float:
    return cpu(broker) if broker else 0.0


def pg_cpu(dsn: str) -> float:
    total = 0.0
    for p in postgres_processes(dsn.rsplit("/", 1)[1].split("?")[0]):
        try:
            total += cpu(p)
        except psutil.Error:
            pass
    return total


async def bench(dsn: str, bootstrap: str, broker: psutil.Process | None, n: int,
                per_tx: int) -> None:
    schema = f"bench_outbox_{int(time.time())}"
    await migrate.apply(dsn, schema, EMPTY)
    await ensure_topics(bootstrap, 4)
    pool = await create_pool(dsn, schema)
    me = psutil.Process()
    batch = events(n, f"bench-{schema}")
    producer = outbox.make_producer(bootstrap)
    await producer.start()
    relay = outbox.OutboxRelay(dsn, schema, producer)
    try:
        b0, pg0, cpu0, t0 = bcpu(broker), pg_cpu(dsn), cpu(me), time.perf_counter()
        for lo in range(0, n, per_tx):
            async with pool.acquire() as conn, conn.transaction():
                await outbox.add(conn, batch[lo:lo + per_tx])
        b1, pg1, cpu1, t1 = bcpu(broker), pg_cpu(dsn), cpu(me), time.perf_counter()
        relay.start()
        while await pool.fetchval("SELECT count(*) FROM outbox"):
            await asyncio.sleep(0.005)
        b2, pg2, cpu2, t2 = bcpu(broker), pg_cpu(dsn), cpu(me), time.perf_counter()
    finally:
        await relay.stop()
        await producer.stop()
        await pool.close()
    print(f"{n} events, {per_tx} per transaction; load {psutil.getloadavg()[0]:.2f}")
    print(f"  write : {t1 - t0:6.3f} s wall, {cpu1 - cpu0:6.3f} CPU-s here, "
          f"postgres {pg1 - pg0:6.3f}, broker {b1 - b0:6.3f}")
    print(f"  relay : {t2 - t1:6.3f} s wall, {cpu2 - cpu1:6.3f} CPU-s here, "
          f"postgres {pg2 - pg1:6.3f}, broker {b2 - b1:6.3f}  ({relay.published} published)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--per-tx", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    infra = start_infra()
    process = getattr(infra.broker, "process", None)
    broker = psutil.Process(process.pid) if process else None
    try:
        for _ in range(args.rounds):
            asyncio.run(bench(infra.dsn, infra.bootstrap, broker, args.events, args.per_tx))
    finally:
        infra.stop()


if __name__ == "__main__":
    main()

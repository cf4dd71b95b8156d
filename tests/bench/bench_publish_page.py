"""Benchmark: one page event at a time, as a sync's page loop publishes them: a `records.fetched`
page of 100 records of ~270 B, published with `outbox.publish_now` and acknowledged before the
next, on the real broker. Prints this process's CPU and the wall time per page, for the kit's
producer and for the same producer lingering 2 ms (its setting before). Run:
`uv run python tests/bench/bench_publish_page.py [--pages N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiokafka import AIOKafkaProducer  # noqa: E402
from ferry_contracts import Envelope  # noqa: E402
from ferry_contracts.records import RecordsFetched, RecordsPage  # noqa: E402
from ferry_contracts.topics import RECORDS_FETCHED  # noqa: E402
from ferry_kit import outbox  # noqa: E402
from ferry_kit.broker import ensure_topics  # noqa: E402
from support.infra import start_infra  # noqa: E402


def page() -> Envelope[Any]:
    records = [{"id": f"c_{i:06d}", "first_name": "Ann", "last_name": "Smith",
                "email": f"a{i}@example.com", "phone": "+1 555 0100", "company": "Acme",
                "title": "Engineer", "created_at": "2026-11-01T10:00:00Z",
                "updated_at": "2026-11-02T10:00:00.123456Z", "custom": {"tier": "gold"}}
               for i in range(100)]
    item = RecordsPage(job_id="job_bench", data_model="contacts", page=1, records=[],
                       deleted_ids=[], is_initial_sync=True, full_sync=True)
    item = item.model_copy(update={"records": records})
    return Envelope.of(RecordsFetched(item=item), project_id="prj_bench",
                       connection_id="con_" + "b" * 32)


async def measure(producer: AIOKafkaProducer, pages: int) -> tuple[float, float]:
    event = page()
    await producer.start()
    try:
        await outbox.publish_now(producer, [event])
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(pages):
            await outbox.publish_now(producer, [event])
        return (time.process_time() - cpu) / pages, (time.perf_counter() - wall) / pages
    finally:
        await producer.stop()


async def bench(bootstrap: str, pages: int) -> None:
    await ensure_topics(bootstrap, 4, [RECORDS_FETCHED])
    for _ in range(2):  # alternated: the machine is shared
        for label, make in (
            ("kit producer", lambda: outbox.make_producer(bootstrap)),
            ("lingering 2 ms", lambda: AIOKafkaProducer(
                bootstrap_servers=bootstrap, acks="all", linger_ms=2,
                max_batch_size=1024 * 1024, max_request_size=8 * 1024 * 1024)),
        ):
            cpu, wall = await measure(make(), pages)
            print(f"{label:15} {cpu * 1e3:6.2f} ms CPU per page, {wall * 1e3:6.2f} ms wall",
                  flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    args = parser.parse_args()
    infra = start_infra()
    try:
        asyncio.run(bench(infra.bootstrap, args.pages))
    finally:
        infra.stop()


if __name__ == "__main__":
    main()

"""Benchmark: the records service ingesting a first sync of N records, then a full re-sync with 1%
changed, then one where 1% are gone (deleted at its end), then one changing every record (a
`record.changed` with its diff, and a version, per record). The service runs as its own process;
pages of 1,000 records are published to `records.fetched` as the executor does (serialised
before the clock starts), and the clock stops at `sync.completed`.

Prints records/s, the service's peak RSS and the CPU time of the service and of Postgres for
each. Run: `uv run python tests/bench/bench_records.py [N]` (default 200,000).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ferry_kit.infra import free_port  # noqa: E402
from support.infra import start_infra  # noqa: E402
from support.kafka import Collector  # noqa: E402
from support.procs import ServiceProcess  # noqa: E402

PAGE = 1000


class PeakRss(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.proc, self.peak, self.running = psutil.Process(pid), 0, True

    def run(self) -> None:
        while self.running:
            try:
                self.peak = max(self.peak, self.proc.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(0.05)


def cpu_seconds(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def postgres_processes() -> list[psutil.Process]:
    return [
        p for p in psutil.process_iter(["name"]) if (p.info["name"] or "").startswith("postgres")
    ]


def record(i: int, version: int = 0) -> dict:
    return {
        "id": f"r{i:07d}",
        "first_name": f"First{i}",
        "last_name": f"Last{i}",
        "email": f"person{i}@example.com",
        "phone": f"+1-555-{i:07d}",
        "company": f"Company {i % 997}",
        "title": "Engineer",
        "city": "Lisbon",
        "notes": "x" * 120,
        "version": version,
        "updated_at": datetime(2026, 1, 1, tzinfo=UTC).isoformat(),
    }


class FeedCounter:
    """Counts the messages of a topic naming a job (their bytes hold its id), read in the
    background from the start, without decoding them (a core is scarce here)."""

    def __init__(self, bootstrap: str, topic: str, needle: bytes) -> None:
        self.bootstrap, self.topic, self.needle, self.seen = bootstrap, topic, needle, 0

    async def __aenter__(self) -> FeedCounter:
        from aiokafka import AIOKafkaConsumer

        self._consumer = AIOKafkaConsumer(self.topic, bootstrap_servers=self.bootstrap,
                                          auto_offset_reset="earliest", group_id=None,
                                          max_poll_records=5000)
        await self._consumer.start()
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self._consumer.stop()

    async def _run(self) -> None:
        while True:
            for records in (await self._consumer.getmany(timeout_ms=100)).values():
                self.seen += sum(1 for r in records if self.needle in r.value)

    async def wait(self, n: int, timeout: float = 600.0) -> None:
        deadline = time.perf_counter() + timeout
        while self.seen < n and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)


async def one_sync(
    infra,
    cid: str,
    n: int,
    changed_every: int | None,
    version: int,
    full: bool,
    initial: bool,
    gone_every: int | None = None,
) -> float:
    from aiokafka import AIOKafkaProducer
    from ferry_contracts import Envelope
    from ferry_contracts.records import RecordsEnd, RecordsFetched, RecordsPage
    from ferry_contracts.topics import RECORD_CHANGED, RECORDS_FETCHED, SYNC_COMPLETED, dump

    job = "job_bench_" + secrets.token_hex(4)

    def rows(start: int) -> list[dict]:
        out = []
        for i in range(start, min(n, start + PAGE)):
            if gone_every is not None and i % gone_every == gone_every // 2:
                continue
            bumped = changed_every is not None and i % changed_every == 0
            out.append(record(i, version if bumped else 0))
        return out

    # The pages are serialised before the clock starts: the executor that produces them runs
    # elsewhere, and on a 2-core machine building them here would take a core from the service.
    payloads = []
    for pages, s in enumerate(range(0, n, PAGE), start=1):
        payloads.append(
            dump(
                Envelope.of(
                    RecordsFetched(
                        item=RecordsPage(
                            job_id=job,
                            data_model="CONTACTS",
                            page=pages,
                            records=rows(s),
                            is_initial_sync=initial,
                            full_sync=full,
                        )
                    ),
                    project_id="bench",
                    connection_id=cid,
                )
            )
        )
    payloads.append(
        dump(
            Envelope.of(
                RecordsFetched(
                    item=RecordsEnd(
                        job_id=job,
                        data_model="CONTACTS",
                        provider_name="sandbox",
                        status="complete",
                        full_sync=full,
                        is_initial_sync=initial,
                        pages=len(payloads),
                        fetched=n,
                    )
                ),
                project_id="bench",
                connection_id=cid,
            )
        )
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=infra.bootstrap,
        max_batch_size=1024 * 1024,
        max_request_size=8 * 1024 * 1024,
    )
    await producer.start()
    try:
        async with Collector(
            infra.bootstrap, SYNC_COMPLETED, lambda e: e.data.job_id == job
        ) as done, FeedCounter(infra.bootstrap, RECORD_CHANGED, job.encode()) as feed:
            started = time.perf_counter()
            for payload in payloads:
                await producer.send(RECORDS_FETCHED, payload, key=cid.encode())
            await producer.flush()
            published = time.perf_counter() - started
            [event] = await done.wait(1, timeout=600)
            elapsed = time.perf_counter() - started
            counts = event.data.counts
            events = 0 if initial else counts.created + counts.updated + counts.deleted
            await feed.wait(events)
            fed = time.perf_counter() - started
    finally:
        await producer.stop()
    print(
        f"    counts: {event.data.counts.model_dump()} (all pages published after {published:.1f}s"
        f"; the {events:,} record.changed after {fed:.2f}s)"
    )
    return elapsed


async def run(infra, env: dict[str, str], n: int) -> None:
    port = free_port()
    proc = ServiceProcess(
        "ferry_records", {**env, "FERRY_RECORDS_PORT": str(port), "FERRY_LOG_LEVEL": "WARNING"}
    ).start()
    proc.wait_http(f"http://127.0.0.1:{port}/healthz", timeout=60)
    rss = PeakRss(proc.proc.pid)
    rss.start()
    try:
        cid = "con_bench_" + secrets.token_hex(4)
        await asyncio.sleep(3)  # consumer group join
        service, postgres = [psutil.Process(proc.proc.pid)], postgres_processes()
        phases = (
            ("first sync of", None, 0, True, None),
            ("full re-sync, 1% changed, of", 100, 1, False, None),
            ("full re-sync, 1% deleted, of", 100, 1, False, 100),
            ("full re-sync, every record changed, of", 1, 2, False, None),
        )
        for label, changed_every, version, initial, gone_every in phases:
            rss.peak = 0
            cpu = cpu_seconds(service), cpu_seconds(postgres)
            took = await one_sync(
                infra,
                cid,
                n,
                changed_every,
                version,
                full=True,
                initial=initial,
                gone_every=gone_every,
            )
            used = cpu_seconds(service) - cpu[0], cpu_seconds(postgres) - cpu[1]
            print(
                f"{label} {n:,} records: {took:.2f}s = {n / took:,.0f} records/s, "
                f"peak RSS {rss.peak / 2**20:.0f} MiB, "
                f"CPU: service {used[0]:.2f}s, Postgres {used[1]:.2f}s"
            )
    finally:
        rss.running = False
        proc.stop()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    infra = start_infra()
    try:
        env = infra.env()
        import os

        os.environ.update(env)
        asyncio.run(run(infra, env, n))
    finally:
        infra.stop()


if __name__ == "__main__":
    main()

"""Benchmark: Ferry against a hand-written httpx + asyncpg upsert, over one sandbox, in one run.

For 100 and 1,000 records per page: the script's first sync, then Ferry's (connection created →
the job's `completed_at`, services as separate processes; when the bench's poll saw it is printed
too); then 10% of the records change and both run an
incremental sync. Prints each time, Ferry's ratio to the script, the CPU seconds of every
process (services, broker, Postgres) and their peak RSS, and `GET /v1/syncs/{id}` latency while
Ferry syncs. Run: `uv run python tests/bench/bench_sync_vs_script.py [--records N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import asyncpg
import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import baseline_pipeline  # noqa: E402
import hoptrace  # noqa: E402
from ferry_connectors.loader import CATALOGUE  # noqa: E402
from procstats import PeakRss, cpu_seconds, postgres_processes  # noqa: E402
from support.e2e import Api  # noqa: E402
from support.infra import Infra, start_infra  # noqa: E402
from support.platforms import ProcessPlatform  # noqa: E402

PAGE_SIZES = (100, 1000)


def connectors_dir() -> str:
    """The sandbox definition again as `sandbox_p100`, asking for 100 records per page."""
    folder = tempfile.mkdtemp(prefix="ferry-bench-connectors-")
    text = (CATALOGUE / "sandbox.yaml").read_text()
    text = text.replace("name: sandbox\n", "name: sandbox_p100\n", 1)
    text = text.replace("page_size: 1000\n", "page_size: 100\n", 1)
    Path(folder, "sandbox_p100.yaml").write_text(text)
    return folder


def provider(page_size: int) -> str:
    return "sandbox" if page_size == 1000 else f"sandbox_p{page_size}"


class Meter:
    """CPU seconds of every process of the platform (and Postgres) between two points."""

    def __init__(self, platform: ProcessPlatform, infra: Infra) -> None:
        pids = {n: p.proc.pid for n, p in platform.procs.items() if p.proc}
        if infra.broker and infra.broker.process:
            pids["broker"] = infra.broker.process.pid
        self.sampler = PeakRss(pids)
        self.sampler.start()
        self.me = psutil.Process()
        self.database = infra.dsn.rpartition("/")[2]

    def snapshot(self) -> dict[str, float]:
        cpu = self.sampler.cpu()
        # The backends of this run's database come and go: each by pid, a new one from zero.
        cpu.update({f"pg:{p.pid}": cpu_seconds(p) for p in postgres_processes(self.database)})
        cpu["bench"] = cpu_seconds(self.me)
        return cpu

    @staticmethod
    def delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        out = {k: v - before.get(k, 0.0) for k, v in after.items() if not k.startswith("pg:")}
        out["postgres"] = sum(
            v - before.get(k, 0.0) for k, v in after.items() if k.startswith("pg:")
        )
        return out


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


class Poll:
    """`GET /v1/syncs/{id}` as a customer's dashboard sends it, over one keep-alive connection.
    aiohttp's client, not httpx's: on this two-core machine httpx's own transport cost the bench
    ~1 ms of CPU per request, which the poll's latency would have counted as Ferry's."""

    def __init__(self, api: Api) -> None:
        self.session = aiohttp.ClientSession(
            str(api.http.base_url), headers={"authorization": api.http.headers["authorization"]})

    async def job(self, job_id: str) -> dict:
        async with self.session.get(f"/v1/syncs/{job_id}") as resp:
            assert resp.status == 200, await resp.text()
            return await resp.json()

    async def close(self) -> None:
        await self.session.close()


async def wait_complete(poll: Poll, job_id: str, latencies: list[float]) -> dict:
    """Poll the job as a customer's dashboard would (20 times a second), timing each GET."""
    while True:
        started = time.perf_counter()
        job = await poll.job(job_id)
        latencies.append(time.perf_counter() - started)
        if job["status"] in ("complete", "failed", "cancelled"):
            assert job["status"] == "complete", job
            return job
        await asyncio.sleep(0.05)


async def first_job(api: Api, connection_id: str) -> str:
    while not (jobs := await api.jobs(connection_id)):
        await asyncio.sleep(0.05)
    return jobs[0]["id"]


def completed_after(job: dict, wall_started: float) -> float:
    """Seconds from `wall_started` (epoch) to the job's own `completed_at`: when Ferry made it
    `complete`, without the poll's granularity (up to 50 ms later the bench sees it)."""
    return datetime.fromisoformat(job["completed_at"]).timestamp() - wall_started


async def ferry_first(
    api: Api, poll: Poll, account: str, page_size: int, latencies: list[float]
) -> tuple[float, str, dict, tuple[str, float, float, float], float]:
    """(seconds until seen complete, connection id, counts, (job id, wall clock at the POST,
    at its answer, when seen complete), seconds until the job's `completed_at`)."""
    wall, started = time.time(), time.perf_counter()
    conn = await api.connect(
        ["CONTACTS"], account=account, user=f"bench-{page_size}", provider_name=provider(page_size)
    )
    answered = hoptrace.now()
    job = await wait_complete(poll, await first_job(api, conn["id"]), latencies)
    elapsed = time.perf_counter() - started
    trace = (job["id"], wall, answered, wall + elapsed)
    return elapsed, conn["id"], job["counts"], trace, completed_after(job, wall)


async def ferry_incremental(
    api: Api, poll: Poll, connection_id: str, latencies: list[float]
) -> tuple[float, dict, tuple[str, float, float, float], float]:
    """(seconds until seen complete, counts, (job id, wall clock at the POST, at its answer,
    when seen complete), seconds until the job's `completed_at`)."""
    requested, wall = hoptrace.now(), time.time()
    started = time.perf_counter()
    [job] = await api.sync(connection_id, [{"data_model": "contacts"}])
    answered = hoptrace.now()
    done = await wait_complete(poll, job["id"], latencies)
    elapsed = time.perf_counter() - started
    trace = (job["id"], requested, answered, requested + elapsed)
    return elapsed, done["counts"], trace, completed_after(done, wall)


async def script(
    platform: ProcessPlatform,
    conn: asyncpg.Connection,
    account: str,
    page_size: int,
    since: datetime | None = None,
) -> tuple[float, int]:
    table = f"bench_script_p{page_size}"
    async with httpx.AsyncClient(
        base_url=platform.sandbox_url,
        timeout=60,
        headers={"authorization": f"Bearer static:{account}"},
    ) as http:
        if since is None:
            await baseline_pipeline.prepare(conn, table)
        started = time.perf_counter()
        _, written = await baseline_pipeline.sync(http, conn, table, limit=page_size, since=since)
        return time.perf_counter() - started, written


class Run:
    """The phases of one benchmark run and what each cost."""

    def __init__(self, platform: ProcessPlatform, infra: Infra, api: Api, account: str) -> None:
        self.platform, self.infra, self.api, self.account = platform, infra, api, account
        self.meter = Meter(platform, infra)
        self.times: dict[str, dict[str, float]] = {}
        self.seen: dict[str, float] = {}  # Ferry's phases: when the bench's poll saw `complete`
        self.cpu: dict[str, dict[str, float]] = {}
        self.latencies: list[float] = []
        self.connections: dict[int, str] = {}
        self.db: asyncpg.Connection  # the script's, opened outside its timing like a pool's
        self.poll: Poll  # the customer's dashboard, polling Ferry's jobs
        self.trace: hoptrace.HopTrace | None = None  # --trace: the hops of each Ferry job

    async def open(self) -> None:
        self.db = await asyncpg.connect(self.infra.dsn)
        self.poll = Poll(self.api)

    async def measure(self, phase: str, who: str, work) -> object:
        before = self.meter.snapshot()
        started = time.perf_counter()
        result = await work
        self.times.setdefault(phase, {})[who] = time.perf_counter() - started
        self.cpu[f"{phase} / {who}"] = Meter.delta(before, self.meter.snapshot())
        return result

    def completed(self, phase: str, seconds: float) -> None:
        """Ferry's time is until the job's `completed_at`; when the poll saw it is kept too."""
        self.seen[phase] = self.times[phase]["ferry"]
        self.times[phase]["ferry"] = seconds

    async def first(self, page_size: int) -> None:
        phase = f"first sync @{page_size}/page"
        await self.measure(phase, "script", script(self.platform, self.db, self.account, page_size))
        if self.trace is not None:
            await self.trace.mark()
        _, conn_id, counts, job, completed = await self.measure(
            phase, "ferry",
            ferry_first(self.api, self.poll, self.account, page_size, self.latencies)
        )
        self.completed(phase, completed)
        self.connections[page_size] = conn_id
        print(f"{phase}: ferry counts {counts}", flush=True)
        if self.trace is not None:
            await self.trace.report(*job, request="POST /v1/connections")

    async def incremental(self, page_size: int, since: datetime) -> None:
        phase = f"incremental 10% @{page_size}/page"
        _, written = await self.measure(
            phase, "script", script(self.platform, self.db, self.account, page_size, since)
        )
        if self.trace is not None:
            await self.trace.mark()
        _, counts, job, completed = await self.measure(
            phase, "ferry",
            ferry_incremental(self.api, self.poll, self.connections[page_size], self.latencies)
        )
        self.completed(phase, completed)
        print(f"{phase}: script wrote {written}, ferry counts {counts}", flush=True)
        if self.trace is not None:
            await self.trace.report(*job)


def report(run: Run, n: int) -> None:
    print(f"\n=== {n:,} records; load average {os.getloadavg()[0]:.2f} (1 min) ===")
    print("(ferry s: until the job's `completed_at`; seen s: until the bench's poll, every 50 ms,"
          " saw it)")
    print(f"{'phase':34} {'script s':>9} {'ferry s':>9} {'ferry/script':>13} {'rate ratio':>11}"
          f" {'seen s':>7} {'seen/script':>12}")
    for phase, t in run.times.items():
        ratio, seen = t["ferry"] / t["script"], run.seen[phase]
        print(f"{phase:34} {t['script']:9.2f} {t['ferry']:9.2f} {ratio:12.2f}× {1 / ratio:10.2f}×"
              f" {seen:7.2f} {seen / t['script']:11.2f}×")
    print("\nCPU seconds per process (rate = per 100k records of the phase):")
    for label, cpu in run.cpu.items():
        shown = {k: v for k, v in cpu.items() if v >= 0.005}
        platform = sum(v for k, v in cpu.items() if k not in ("sandbox", "bench"))
        if label.endswith("script"):
            platform = cpu["bench"] + cpu["postgres"]
        scale = 100_000 / (n if label.startswith("first") else max(1, n // 10))
        print(
            f"  {label}: total {platform:.2f} CPU-s ({platform * scale:.2f} per 100k) | "
            + ", ".join(f"{k} {v:.2f}" for k, v in shown.items())
        )
    peak = run.meter.sampler.peak
    print("\npeak RSS (MiB): " + ", ".join(f"{k} {v / 2**20:.0f}" for k, v in peak.items()))
    print(
        "peak RSS, services + broker: "
        f"{sum(v for k, v in peak.items() if k != 'sandbox') / 2**20:.0f} MiB"
    )
    lat = run.latencies
    print(
        f"GET /v1/syncs/{{id}} during syncs: {len(lat)} requests, p50 "
        f"{quantile(lat, 0.5) * 1000:.1f} ms, p99 {quantile(lat, 0.99) * 1000:.1f} ms"
    )


async def bench(
    infra: Infra, n: int, page_sizes: tuple[int, ...] = PAGE_SIZES, incremental: bool = True,
    trace: bool = False,
) -> None:
    platform = ProcessPlatform(
        infra,
        FERRY_PROVIDER_REQUESTS_PER_SECOND="10000",
        FERRY_PROVIDER_BURST="20",
        FERRY_CONNECTORS_PATH=connectors_dir(),
    )
    platform.start()
    try:
        project = platform.create_project()
        api = Api(platform, project)
        resp = await api.http.put(
            "/v1/integrations/sandbox_p100",
            json={"client_id": "ferry-bench", "client_secret": "cs-e2e"},
        )
        resp.raise_for_status()
        account = "bench-" + secrets.token_hex(3)
        await api.seed(account, "contacts", n)
        run = Run(platform, infra, api, account)
        await run.open()
        # The bench's own full collections (every module it imported, traversed each time)
        # would show up as Ferry's latency: what it holds from now on is left out of them.
        gc.collect()
        gc.freeze()
        if trace:
            run.trace = hoptrace.HopTrace(infra.bootstrap, infra.dsn)
        for page_size in page_sizes:
            await run.first(page_size)
        since = datetime.now(UTC)
        resp = await api.sandbox.post(
            f"/_admin/accounts/{account}/mutate", json={"model": "contacts", "update": n // 10}
        )
        resp.raise_for_status()
        for page_size in page_sizes if incremental else ():
            await run.incremental(page_size, since)
        report(run, n)
        await run.db.close()
        await run.poll.close()
        await api.close()
    finally:
        platform.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument(
        "--page-size",
        type=int,
        action="append",
        choices=PAGE_SIZES,
        help="only this page size (repeatable; default: both)",
    )
    parser.add_argument("--no-incremental", action="store_true", help="first syncs only")
    parser.add_argument(
        "--trace", action="store_true", help="print the hops of each Ferry sync's job"
    )
    args = parser.parse_args()
    infra = start_infra()  # a broker and a database of its own
    try:
        sizes = tuple(args.page_size or PAGE_SIZES)
        asyncio.run(bench(infra, args.records, sizes, not args.no_incremental, args.trace))
    finally:
        infra.stop()


if __name__ == "__main__":
    main()

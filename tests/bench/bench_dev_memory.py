"""Benchmark: the memory of `ferry dev` (services and embedded broker) across large syncs.

Starts `ferry dev --demo`, seeds N sandbox contacts, connects an end user (the initial sync),
then runs `--syncs - 1` full syncs, printing after each (and a pause that lets the topic rollover
run) the RSS of the Ferry process and of the broker. `FERRY_DEV_TOPIC_ROLLOVER=false` measures
the broker without rollover. Run: `uv run python tests/bench/bench_dev_memory.py [--records N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_idle import start_dev, stop_dev  # noqa: E402
from support.e2e import Api  # noqa: E402


class _Dev:
    def __init__(self, state: dict) -> None:
        self.gateway_url, self.sandbox_url = state["gateway_url"], state["sandbox_url"]
        self.sandbox_admin_token = state["sandbox_admin_token"]


def _mib(n: float) -> str:
    return f"{n / 2**20:.0f}"


def rss(proc: psutil.Process) -> str:
    """PSS (RSS) of `ferry dev` (its supervisor with the sandbox), its service workers and the
    broker, and their total."""
    parts: dict[str, list[float]] = {"ferry dev + sandbox": [0, 0], "service workers": [0, 0],
                                      "broker": [0, 0]}
    for p in (proc, *proc.children(recursive=True)):
        try:
            mem = p.memory_full_info()
        except psutil.Error:
            continue
        part = ("ferry dev + sandbox" if p.pid == proc.pid else
                "broker" if "tansu" in p.name() else "service workers")
        parts[part][0] += mem.pss
        parts[part][1] += mem.rss
    total = [sum(v[0] for v in parts.values()), sum(v[1] for v in parts.values())]
    shown = ", ".join(f"{k} {_mib(v[0])} ({_mib(v[1])})" for k, v in parts.items())
    return f"{shown}; total {_mib(total[0])} ({_mib(total[1])}) MiB PSS (RSS)"


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def poll_job(api: Api, job_id: str, latencies: list[float], timeout: float,
                   until_done: bool = True) -> dict:
    """Poll the job 20 times a second, as a dashboard would, timing each GET."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        started = time.perf_counter()
        job = await api.job(job_id)
        latencies.append(time.perf_counter() - started)
        if until_done and job["status"] in ("complete", "failed", "cancelled"):
            return job
        await asyncio.sleep(0.05)
    raise TimeoutError(f"job {job_id} still running after {timeout} s")


async def syncs(folder: str, pid: int, n: int, count: int, pause: float) -> None:
    state = json.loads((Path(folder) / ".ferry" / "dev.json").read_text())
    api, proc = Api(_Dev(state), state), psutil.Process(pid)
    try:
        await api.seed("mem", "contacts", n)
        print(f"before: {rss(proc)}", flush=True)
        conn = await api.connect(["CONTACTS"], account="mem", user="mem")
        while not (jobs := await api.jobs(conn["id"])):
            await asyncio.sleep(0.2)
        for i in range(count):
            job = jobs[0] if i == 0 else (await api.sync(conn["id"], full_sync=True))[0]
            lat: list[float] = []
            started = time.perf_counter()
            done = await poll_job(api, job["id"], lat, timeout=3600)
            print(f"sync {i + 1} {done['status']} in {time.perf_counter() - started:.1f} s "
                  f"(load average {os.getloadavg()[0]:.2f}): {rss(proc)}", flush=True)
            print(f"  GET /v1/syncs/{{id}} during it: {len(lat)} requests, p50 "
                  f"{quantile(lat, 0.5) * 1000:.1f} ms, p99 {quantile(lat, 0.99) * 1000:.1f} ms",
                  flush=True)
            idle: list[float] = []  # the same GET with no sync running: the machine's share
            with contextlib.suppress(TimeoutError):
                await poll_job(api, job["id"], idle, timeout=pause, until_done=False)
            print(f"  {pause:.0f} s later: {rss(proc)}", flush=True)
            print(f"  GET /v1/syncs/{{id}} idle: {len(idle)} requests, p50 "
                  f"{quantile(idle, 0.5) * 1000:.1f} ms, p99 {quantile(idle, 0.99) * 1000:.1f} ms",
                  flush=True)
    finally:
        await api.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--syncs", type=int, default=2)
    parser.add_argument("--pause", type=float, default=40)
    args = parser.parse_args()
    proc, folder, admin_dsn, database = start_dev()
    try:
        asyncio.run(syncs(folder, proc.pid, args.records, args.syncs, args.pause))
    finally:
        stop_dev(proc, admin_dsn, database)


if __name__ == "__main__":
    main()

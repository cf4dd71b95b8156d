"""Benchmark: the memory of `ferry dev` (services and embedded broker) across large syncs.

Starts `ferry dev --demo`, seeds N sandbox contacts, connects an end user (the initial sync),
then runs `--syncs - 1` full syncs, printing after each (and a pause that lets the topic rollover
run) the RSS of the Ferry process and of the broker. `FERRY_DEV_TOPIC_ROLLOVER=false` measures
the broker without rollover. Run: `uv run python tests/bench/bench_dev_memory.py [--records N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_idle import start_dev, stop_dev  # noqa: E402
from support.e2e import Api  # noqa: E402


class _Dev:
    def __init__(self, state: dict) -> None:
        self.gateway_url, self.sandbox_url = state["gateway_url"], state["sandbox_url"]
        self.sandbox_admin_token = state["sandbox_admin_token"]


def rss(proc: psutil.Process) -> str:
    broker = sum(c.memory_info().rss for c in proc.children(recursive=True))
    return f"ferry dev {proc.memory_info().rss / 2**20:.0f} MiB, broker {broker / 2**20:.0f} MiB"


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
            done = await api.wait_job(job["id"], timeout=3600)
            print(f"sync {i + 1} {done['status']}: {rss(proc)}", flush=True)
            await asyncio.sleep(pause)
            print(f"  {pause:.0f} s later: {rss(proc)}", flush=True)
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

"""Benchmark: what `ferry dev` costs when nothing happens.

Starts `ferry dev --demo` in a scratch folder with a database of its own, waits for the demo to
finish, lets it settle, then samples the CPU time of the Ferry process, the embedded broker and
the Postgres backends of that database over a window, and prints each as a share of one core.
Run: `uv run python tests/bench/bench_idle.py [--seconds 30] [--settle 5]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ferry_kit.infra import LocalPostgres, create_database, ensure_postgres  # noqa: E402
from procstats import cpu_seconds  # noqa: E402
from support.infra import _drop  # noqa: E402

# Clusters start_dev started (no Postgres answered at 127.0.0.1:5432): stop_dev stops them.
_CLUSTERS: list[LocalPostgres] = []


def processes(ferry: psutil.Process, database: str) -> dict[str, psutil.Process]:
    procs = {"ferry dev (sandbox, and the services with FERRY_DEV_PROCESSES=one)": ferry}
    for child in ferry.children(recursive=True):
        name = child.name()
        label = f"broker ({name})" if "tansu" in name else f"service worker pid {child.pid}"
        procs[label] = child
    for p in psutil.process_iter(["name", "cmdline"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if (p.info["name"] or "").startswith("postgres") and f" {database} " in f"{cmd} ":
            procs[f"postgres pid {p.pid}"] = p
    return procs


def wait_for_demo(proc: subprocess.Popen[str], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    seen: list[str] = []
    for line in proc.stdout:
        if "Press Ctrl-C to stop" in line:
            return
        seen = [*seen[-30:], line]
        if time.monotonic() > deadline:
            break
    raise RuntimeError("ferry dev did not finish its demo:\n" + "".join(seen))


def sample(procs: dict[str, psutil.Process], seconds: float) -> dict[str, float]:
    before = {n: cpu_seconds(p) for n, p in procs.items()}
    time.sleep(seconds)
    return {n: (cpu_seconds(p) - before[n]) / seconds for n, p in procs.items()}


def start_dev() -> tuple[subprocess.Popen[str], str, str, str]:
    """`ferry dev --demo` in a scratch folder on a database of its own, once its demo is done:
    (the process, its folder, the admin DSN, the database)."""
    admin_dsn, local = asyncio.run(ensure_postgres(os.environ.get("FERRY_DATABASE_URL")))
    if local is not None:
        _CLUSTERS.append(local)
    database = f"ferry_idle_{secrets.token_hex(3)}"
    env = {**os.environ, "FERRY_DATABASE_URL": asyncio.run(create_database(admin_dsn, database))}
    env.pop("FERRY_KAFKA_BOOTSTRAP", None)
    folder = tempfile.mkdtemp(prefix="ferry-idle-")
    proc = subprocess.Popen([sys.executable, "-m", "ferry_cli.main", "dev", "--demo"], cwd=folder,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_demo(proc)
    except BaseException:
        proc.terminate()
        _stop_clusters()
        raise
    return proc, folder, admin_dsn, database


def stop_dev(proc: subprocess.Popen[str], admin_dsn: str, database: str) -> None:
    proc.terminate()
    proc.wait(30)
    try:
        asyncio.run(_drop(admin_dsn, database))
    finally:
        _stop_clusters()


def _stop_clusters() -> None:
    while _CLUSTERS:
        local = _CLUSTERS.pop()
        local.stop()
        shutil.rmtree(local.data_dir.parent, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--settle", type=float, default=5)
    args = parser.parse_args()
    proc, _, admin_dsn, database = start_dev()
    try:
        time.sleep(args.settle)
        ferry = psutil.Process(proc.pid)
        shares = sample(processes(ferry, database), args.seconds)
        print(f"idle CPU over {args.seconds:.0f} s (load average {os.getloadavg()[0]:.2f}):")
        backends = sum(v for k, v in shares.items() if k.startswith("postgres"))
        for name, share in shares.items():
            if not name.startswith("postgres"):
                print(f"  {name}: {share * 100:.2f}% of a core")
        print(f"  postgres backends of its database: {backends * 100:.2f}% of a core")
        print(f"  total: {sum(shares.values()) * 100:.2f}% of a core")
        print(f"  RSS: ferry dev {ferry.memory_info().rss / 2**20:.0f} MiB")
    finally:
        stop_dev(proc, admin_dsn, database)


if __name__ == "__main__":
    main()

"""CPU seconds and peak resident memory of a set of processes, sampled by psutil."""

from __future__ import annotations

import threading
import time

import psutil


def cpu_seconds(proc: psutil.Process) -> float:
    try:
        t = proc.cpu_times()
        return t.user + t.system
    except psutil.Error:
        return 0.0


def postgres_processes(database: str | None = None) -> list[psutil.Process]:
    """Postgres processes; with `database`, only the backends connected to it (the server is
    shared with other users of the machine, whose work must not count)."""
    out = []
    for p in psutil.process_iter(["name", "cmdline"]):
        if not (p.info["name"] or "").startswith("postgres"):
            continue
        cmd = f"{' '.join(p.info['cmdline'] or [])} "
        if database is None or f" {database} " in cmd:
            out.append(p)
    return out


class PeakRss(threading.Thread):
    """Samples each named process's RSS every 0.1 s while running; `cpu()` reads CPU time."""

    def __init__(self, pids: dict[str, int]) -> None:
        super().__init__(daemon=True)
        self.procs = {n: psutil.Process(p) for n, p in pids.items()}
        self.peak = {n: 0 for n in pids}
        self.running = True

    def cpu(self) -> dict[str, float]:
        return {n: cpu_seconds(p) for n, p in self.procs.items()}

    def run(self) -> None:
        while self.running:
            for n, p in self.procs.items():
                try:
                    self.peak[n] = max(self.peak[n], p.memory_info().rss)
                except psutil.Error:
                    pass
            time.sleep(0.1)

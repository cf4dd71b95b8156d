"""Give the heap a burst of work left behind back to the system, once the burst is over.

glibc keeps freed memory in its heap for reuse: after a large sync a `ferry dev` worker holds
tens of MiB it no longer needs (freed records, fetch buffers) between live objects.
`malloc_trim(0)` returns those free pages to the system. `IdleTrim` calls it once a process that
was busy goes quiet (little CPU over a check interval): never during a burst, and not over and
over while nothing happens. Without glibc (musl, macOS) it does nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import gc
import time
from collections.abc import Callable

from . import logging as klog

log = klog.get("ferry.memtrim")


def _malloc_trim() -> Callable[[], bool] | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int

    def release() -> bool:
        gc.collect()  # cycles first: what they hold is freed before the heap is trimmed
        return bool(trim(0))

    return release


MALLOC_TRIM = _malloc_trim()


class IdleTrim:
    """Every `check_seconds`: once the process has used `burst_cpu_seconds` of CPU since the last
    trim and its last interval was quiet (under `quiet_share` of a core), trim the heap."""

    def __init__(self, *, check_seconds: float = 5.0, burst_cpu_seconds: float = 2.0,
                 quiet_share: float = 0.05, trim: Callable[[], bool] | None = MALLOC_TRIM,
                 cpu: Callable[[], float] = time.process_time) -> None:
        self.check_seconds, self.burst, self.quiet = check_seconds, burst_cpu_seconds, quiet_share
        self._trim, self._cpu = trim, cpu
        self._task: asyncio.Task[None] | None = None
        self._since_trim = 0.0
        self.trims = 0

    def start(self) -> None:
        if self._trim is not None:
            self._task = asyncio.create_task(self._run(), name="idle-trim")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def due(self, used: float) -> bool:
        """Count the `used` CPU seconds of the last interval; whether to trim now."""
        self._since_trim += used
        if self._since_trim >= self.burst and used <= self.quiet * self.check_seconds:
            self._since_trim = 0.0
            return True
        return False

    async def _run(self) -> None:
        assert self._trim is not None
        last = self._cpu()
        while True:
            await asyncio.sleep(self.check_seconds)
            now = self._cpu()
            used, last = now - last, now
            if self.due(used):
                started = time.perf_counter()
                self._trim()
                self.trims += 1
                log.debug("heap trimmed after a burst",
                          took_ms=round((time.perf_counter() - started) * 1000, 1))

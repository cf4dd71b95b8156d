"""The kit's idle trim: a busy process that goes quiet gives its freed heap back, once."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

import pytest
from ferry_kit.memtrim import MALLOC_TRIM, IdleTrim


def _rss_mib() -> float:
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


@pytest.mark.skipif(MALLOC_TRIM is None, reason="not glibc")
def test_malloc_trim_returns_the_holes_a_burst_left_in_the_heap() -> None:
    assert MALLOC_TRIM is not None
    burst = [bytes(1000) + bytes([i % 256]) for i in range(100_000)]  # ~100 MiB on the heap
    kept = burst[::100]  # live objects between the freed ones: the heap cannot shrink from its top
    del burst
    gc.collect()
    before = _rss_mib()
    MALLOC_TRIM()
    assert before - _rss_mib() > 50
    assert len(kept) == 1000


def test_trims_once_a_burst_is_over_and_not_again_while_quiet() -> None:
    trim = IdleTrim(check_seconds=5.0, burst_cpu_seconds=2.0, quiet_share=0.05, trim=None)
    # CPU seconds per 5 s interval: a sync's burst, its end, quiet, a little work, quiet.
    used = [4.0, 5.0, 1.0, 0.1, 0.0, 0.1, 0.2, 0.3, 0.1, 0.0]
    assert [trim.due(u) for u in used] == [
        False, False, False, True, False, False, False, False, False, False]


def test_work_that_adds_up_to_a_burst_is_trimmed_after_too() -> None:
    trim = IdleTrim(check_seconds=5.0, burst_cpu_seconds=2.0, quiet_share=0.05, trim=None)
    assert [trim.due(u) for u in [1.0, 0.2, 1.0, 0.2]] == [False, False, False, True]


async def test_the_loop_trims_a_process_that_was_busy_and_went_quiet() -> None:
    cpu, trims = [0.0], []
    trim = IdleTrim(check_seconds=0.01, burst_cpu_seconds=2.0,
                    trim=lambda: trims.append(cpu[0]) is None, cpu=lambda: cpu[0])
    trim.start()
    try:
        await asyncio.sleep(0.02)
        cpu[0] = 3.0  # a burst
        for _ in range(100):
            await asyncio.sleep(0.01)
            if trims:
                break
        await asyncio.sleep(0.05)
        assert trims == [3.0] and trim.trims == 1
    finally:
        await trim.stop()


async def test_without_malloc_trim_nothing_runs() -> None:
    trim = IdleTrim(trim=None)
    trim.start()
    assert trim._task is None
    await trim.stop()

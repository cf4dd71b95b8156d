"""The kit's fetch pace: the short wait while records flow, longer the longer a consumer is quiet,
and the short one again at the first batch."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from ferry_kit.fetchpace import FetchPace
from ferry_kit.settings import KitSettings


def pace(**overrides: object) -> FetchPace:
    values: dict[str, object] = {
        "internal_token": "x" * 16, "kafka_fetch_max_wait_ms": 50,
        "kafka_idle_fetch_max_wait_ms": 500, "kafka_max_idle_fetch_max_wait_ms": 2000,
        "kafka_idle_after_seconds": 0.2, **overrides}
    return FetchPace(KitSettings(**values))  # type: ignore[arg-type]


def test_the_wait_doubles_for_each_step_of_quiet_up_to_the_longest() -> None:
    p = pace(kafka_idle_after_seconds=5.0)
    assert [p.wait_after(s) for s in (0, 4.9, 5, 9.9, 10, 15, 20, 600)] == [
        50, 50, 500, 500, 1000, 2000, 2000, 2000]


async def test_a_quiet_consumer_slows_down_step_by_step_and_a_batch_speeds_it_up() -> None:
    p = pace()
    fetcher = SimpleNamespace(_fetch_max_wait_ms=50)
    p.start(SimpleNamespace(_fetcher=fetcher))
    try:
        seen = set()
        for _ in range(300):
            await asyncio.sleep(0.01)
            seen.add(fetcher._fetch_max_wait_ms)
            if fetcher._fetch_max_wait_ms == 2000:
                break
        assert seen >= {500, 1000, 2000}
        p.active()
        assert fetcher._fetch_max_wait_ms == 50
        await asyncio.sleep(0.05)
        assert fetcher._fetch_max_wait_ms == 50  # still within `idle_after` of the batch
        await asyncio.sleep(0.2)
        assert fetcher._fetch_max_wait_ms == 500
    finally:
        await p.stop()


async def test_the_fetcher_loop_wakes_as_seldom_as_the_wait_and_never_more_often_than_before(
) -> None:
    p = pace()
    fetcher = SimpleNamespace(_fetch_max_wait_ms=50, _fetcher_timeout=0.2)
    p.start(SimpleNamespace(_fetcher=fetcher))
    try:
        for _ in range(300):
            await asyncio.sleep(0.01)
            if fetcher._fetch_max_wait_ms == 2000:
                break
        assert fetcher._fetcher_timeout == 2.0
        p.active()
        assert fetcher._fetcher_timeout == 0.2  # aiokafka's own, not the 50 ms wait
    finally:
        await p.stop()


async def test_without_a_longer_idle_wait_nothing_is_paced() -> None:
    p = pace(kafka_idle_fetch_max_wait_ms=50, kafka_max_idle_fetch_max_wait_ms=50)
    fetcher = SimpleNamespace(_fetch_max_wait_ms=50)
    p.start(SimpleNamespace(_fetcher=fetcher))
    assert p._task is None

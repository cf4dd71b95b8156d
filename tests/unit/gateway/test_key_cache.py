"""A secret key's project is remembered for `ttl` seconds: a status poll authenticates against
Postgres about once a second, in the background while it keeps polling; a rotation on this
gateway stops the old key at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from ferry_gateway.domain import Project
from ferry_gateway.keycache import CachedProjects

PROJECT = Project("proj_0123456789abcdef", "acme", "fsig_x", datetime.now(UTC))


class FakeKeys:
    """Keys of one project in memory; `gate`, when set, holds a look-up until it opens."""

    def __init__(self) -> None:
        self.live = {"fsk_old"}
        self.asked: list[str] = []
        self.gate: asyncio.Event | None = None
        self.down = False  # Postgres unreachable

    async def by_secret_key(self, secret_key: str) -> Project | None:
        self.asked.append(secret_key)
        found = secret_key in self.live
        if self.gate is not None:
            await self.gate.wait()
        if self.down:
            raise ConnectionError("database unreachable")
        return PROJECT if found else None

    async def rotate_key(self, project_id: str) -> str | None:
        self.live = {"fsk_new"}
        return "fsk_new"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _cached(keys: FakeKeys, clock: Clock, ttl: float = 1.0) -> CachedProjects:
    repo: Any = keys
    return CachedProjects(repo, ttl, clock)


async def _looked_up_once() -> tuple[FakeKeys, Clock, CachedProjects]:
    keys, clock = FakeKeys(), Clock()
    projects = _cached(keys, clock)
    assert await projects.by_secret_key("fsk_old") == PROJECT
    return keys, clock, projects


async def test_a_key_is_looked_up_once_per_ttl() -> None:
    keys, clock = FakeKeys(), Clock()
    projects = _cached(keys, clock)
    for _ in range(18):  # until 0.72 s: not yet the last quarter of its time
        assert await projects.by_secret_key("fsk_old") == PROJECT
        clock.now += 0.04
    assert keys.asked == ["fsk_old"]
    clock.now += 0.3  # 1.02 s after the first look-up
    assert await projects.by_secret_key("fsk_old") == PROJECT
    assert keys.asked == ["fsk_old", "fsk_old"]


async def test_a_key_revoked_elsewhere_is_refused_once_its_ttl_is_over() -> None:
    keys, clock, projects = await _looked_up_once()
    keys.live = set()  # revoked by another gateway process
    clock.now += 1.0
    assert await projects.by_secret_key("fsk_old") is None


async def test_rotating_a_key_here_refuses_the_old_key_at_once() -> None:
    keys, clock = FakeKeys(), Clock()
    projects = _cached(keys, clock)
    assert await projects.by_secret_key("fsk_old") == PROJECT
    assert await projects.rotate_key(PROJECT.id) == "fsk_new"
    assert await projects.by_secret_key("fsk_old") is None
    assert await projects.by_secret_key("fsk_new") == PROJECT


async def test_a_look_up_overlapping_a_rotation_keeps_nothing() -> None:
    keys, clock = FakeKeys(), Clock()
    projects = _cached(keys, clock)
    keys.gate = asyncio.Event()
    looking = asyncio.create_task(projects.by_secret_key("fsk_old"))
    await asyncio.sleep(0)  # it read the old key as live, and waits
    await projects.rotate_key(PROJECT.id)
    keys.gate.set()
    assert await looking == PROJECT  # answered from before the rotation
    assert await projects.by_secret_key("fsk_old") is None


async def test_unknown_keys_are_never_remembered() -> None:
    keys, clock = FakeKeys(), Clock()
    projects = _cached(keys, clock)
    for _ in range(3):
        assert await projects.by_secret_key("fsk_guess") is None
    assert keys.asked == ["fsk_guess"] * 3


async def test_a_ttl_of_zero_asks_every_time() -> None:
    keys, clock = FakeKeys(), Clock()
    projects = _cached(keys, clock, ttl=0)
    for _ in range(3):
        assert await projects.by_secret_key("fsk_old") == PROJECT
    assert keys.asked == ["fsk_old"] * 3


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_key_polled_near_its_end_is_renewed_in_the_background_without_a_wait() -> None:
    keys, clock, projects = await _looked_up_once()
    keys.gate = asyncio.Event()  # Postgres slow to answer: the poll must not wait for it
    clock.now += 0.8
    assert await asyncio.wait_for(projects.by_secret_key("fsk_old"), 0.5) == PROJECT
    await _settle()
    assert keys.asked == ["fsk_old", "fsk_old"]
    assert await projects.by_secret_key("fsk_old") == PROJECT  # one renewal at a time
    assert keys.asked == ["fsk_old", "fsk_old"]
    keys.gate.set()
    await _settle()
    clock.now += 0.7  # 1.5 s: past the first look-up's time, within the renewal's (1.8 s)
    assert await asyncio.wait_for(projects.by_secret_key("fsk_old"), 0.5) == PROJECT
    assert keys.asked == ["fsk_old", "fsk_old"]


async def test_a_renewal_that_finds_the_key_revoked_refuses_it_from_then_on() -> None:
    keys, clock, projects = await _looked_up_once()
    keys.live = set()  # revoked by another gateway process
    clock.now += 0.8
    assert await projects.by_secret_key("fsk_old") == PROJECT  # within the bound, as before
    await _settle()
    assert await projects.by_secret_key("fsk_old") is None


async def test_a_renewal_that_fails_leaves_the_key_to_expire_and_the_next_look_up_raises() -> None:
    keys, clock, projects = await _looked_up_once()
    keys.down = True
    clock.now += 0.8
    assert await projects.by_secret_key("fsk_old") == PROJECT
    await _settle()
    clock.now += 0.3  # the first look-up's time is over
    try:
        await projects.by_secret_key("fsk_old")
    except ConnectionError:
        pass
    else:
        raise AssertionError("an expired key was served while Postgres was down")

"""The project of a secret key, remembered for a moment: a dashboard polling a job 20 times a
second authenticates against Postgres about once a second, not on every request. A key used in
the last quarter of its time is looked up again in the background (at most one look-up per key
at a time), so a steady poll never waits for Postgres: on a machine busy with a sync, that wait
was one poll in twenty and reached the poll's p99.

The bound: a key revoked by a rotation on this gateway process is refused at once; another
gateway process (a replica) may accept it for at most `ttl` seconds more. Unknown keys are never
remembered (callers choose them), and at most `MAX_KEYS` keys are.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from .domain import NewProject, Project, digest
from .repository import ProjectRepository

MAX_KEYS = 10_000
RENEW_WITHIN = 0.25  # of the ttl: a key used this close to its end is renewed in the background


class CachedProjects:
    """`ProjectRepository` with `by_secret_key` remembered for `ttl` seconds (0: never)."""

    def __init__(self, repo: ProjectRepository, ttl: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._repo, self._ttl, self._clock = repo, ttl, clock
        self._keys: dict[bytes, tuple[float, Project]] = {}
        self._rotations = 0  # a look-up that overlapped a rotation keeps nothing
        self._renewing: dict[bytes, asyncio.Task[Project | None]] = {}

    async def by_secret_key(self, secret_key: str) -> Project | None:
        if self._ttl <= 0:
            return await self._repo.by_secret_key(secret_key)
        key, now = digest(secret_key), self._clock()
        hit = self._keys.get(key)
        if hit is not None and now < hit[0]:
            if hit[0] - now < self._ttl * RENEW_WITHIN and key not in self._renewing:
                self._renew(key, secret_key)
            return hit[1]
        return await self._look_up(key, secret_key)

    def _renew(self, key: bytes, secret_key: str) -> None:
        """Look the key up again without anyone waiting: what it finds replaces the entry
        (a revoked key is dropped); a failure leaves the entry to expire as it would have."""
        task = asyncio.create_task(self._look_up(key, secret_key))
        self._renewing[key] = task

        def done(finished: asyncio.Task[Project | None]) -> None:
            self._renewing.pop(key, None)
            if not finished.cancelled():
                finished.exception()  # retrieved: the next look-up in the open will raise it

        task.add_done_callback(done)

    async def _look_up(self, key: bytes, secret_key: str) -> Project | None:
        # The entry's time runs from before the look-up: never longer than `ttl` past a moment
        # the key was seen valid.
        rotations, now = self._rotations, self._clock()
        project = await self._repo.by_secret_key(secret_key)
        if project is None or rotations != self._rotations:
            self._keys.pop(key, None)
            return project
        if len(self._keys) >= MAX_KEYS:
            self._keys = {k: v for k, v in self._keys.items() if now < v[0]}
            if len(self._keys) >= MAX_KEYS:
                self._keys.clear()
        self._keys[key] = (now + self._ttl, project)
        return project

    async def rotate_key(self, project_id: str) -> str | None:
        self._rotations += 1
        try:
            return await self._repo.rotate_key(project_id)
        finally:
            self._rotations += 1
            self._keys = {k: v for k, v in self._keys.items() if v[1].id != project_id}

    async def create(self, name: str) -> NewProject:
        return await self._repo.create(name)

    async def list(self) -> list[Project]:
        return await self._repo.list()

    async def get(self, project_id: str) -> Project | None:
        return await self._repo.get(project_id)

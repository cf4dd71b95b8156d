"""The project of a secret key, remembered for a moment: a dashboard polling a job 20 times a
second authenticates against Postgres about once a second, not on every request.

The bound: a key revoked by a rotation on this gateway process is refused at once; another
gateway process (a replica) may accept it for at most `ttl` seconds more. Unknown keys are never
remembered (callers choose them), and at most `MAX_KEYS` keys are.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .domain import NewProject, Project, digest
from .repository import ProjectRepository

MAX_KEYS = 10_000


class CachedProjects:
    """`ProjectRepository` with `by_secret_key` remembered for `ttl` seconds (0: never)."""

    def __init__(self, repo: ProjectRepository, ttl: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._repo, self._ttl, self._clock = repo, ttl, clock
        self._keys: dict[bytes, tuple[float, Project]] = {}
        self._rotations = 0  # a look-up that overlapped a rotation keeps nothing

    async def by_secret_key(self, secret_key: str) -> Project | None:
        if self._ttl <= 0:
            return await self._repo.by_secret_key(secret_key)
        key, now = digest(secret_key), self._clock()
        hit = self._keys.get(key)
        if hit is not None and now < hit[0]:
            return hit[1]
        rotations = self._rotations
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

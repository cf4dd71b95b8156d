"""The gateway's repository: projects and their keys, named queries in, domain records out."""

from __future__ import annotations

import asyncpg

from . import queries as q
from .domain import NewProject, Project, digest, new_project_id, new_secret_key, new_signing_key


def _project(row: asyncpg.Record) -> Project:
    return Project(id=row["id"], name=row["name"], signing_key=row["signing_key"],
                   created_at=row["created_at"])


class ProjectRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create(self, name: str) -> NewProject:
        project_id, secret_key = new_project_id(), new_secret_key()
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(q.INSERT_PROJECT, project_id, name, new_signing_key())
            await conn.execute(q.INSERT_KEY, digest(secret_key), project_id, secret_key[:8])
        return NewProject(project=_project(row), secret_key=secret_key)

    async def list(self) -> list[Project]:
        return [_project(r) for r in await self._pool.fetch(q.PROJECTS)]

    async def rotate_key(self, project_id: str) -> str | None:
        """A new secret key for the project; its earlier keys stop working at once."""
        secret_key = new_secret_key()
        async with self._pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval(q.LOCK_PROJECT, project_id):
                return None
            await conn.execute(q.REVOKE_KEYS, project_id)
            await conn.execute(q.INSERT_KEY, digest(secret_key), project_id, secret_key[:8])
        return secret_key

    async def by_secret_key(self, secret_key: str) -> Project | None:
        row = await self._pool.fetchrow(q.PROJECT_OF_KEY, digest(secret_key))
        return _project(row) if row else None

    async def get(self, project_id: str) -> Project | None:
        row = await self._pool.fetchrow(q.PROJECT, project_id)
        return _project(row) if row else None

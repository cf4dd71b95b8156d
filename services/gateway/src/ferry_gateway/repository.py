"""The gateway's repositories: projects and their keys, and its copies of sync jobs; named
queries in, domain records out."""

from __future__ import annotations

import asyncpg
from ferry_kit.db import delete_in_batches

from . import queries as q
from .domain import (
    JobCopy,
    NewProject,
    Project,
    digest,
    new_project_id,
    new_secret_key,
    new_signing_key,
)


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


class JobCopies:
    """The copies of sync jobs, on one connection (a unit of work's, or a pooled one)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def save(self, copy: JobCopy) -> bool:
        """Keep `copy` unless a newer version (or the same one, said later) is kept already;
        True when it was kept."""
        kept = await self._conn.fetchval(q.SAVE_JOB, copy.id, copy.project_id,
                                         copy.connection_id, copy.version, copy.body,
                                         copy.seen_at)
        return bool(kept)

    async def get(self, job_id: str) -> JobCopy | None:
        row = await self._conn.fetchrow(q.JOB, job_id)
        return JobCopy(**row) if row is not None else None

    async def doubt(self, job_id: str) -> None:
        """The job was just changed through the gateway: ask the executor at the next read."""
        await self._conn.execute(q.DOUBT_JOB, job_id)


async def prune_job_copies(conn: asyncpg.Connection, older_than_days: float) -> int:
    """Copies no one said anything about for the history's retention (a housekeeping chore)."""
    removed: int = await delete_in_batches(conn, q.PRUNE_JOBS, older_than_days)
    return removed

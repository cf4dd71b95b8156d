"""All SQL of the gateway: projects and their keys."""

from __future__ import annotations

from typing import Any

from .domain import NewProject, Project, digest, new_project_id, new_secret_key, new_signing_key


def _project(row: Any) -> Project:
    return Project(id=row["id"], name=row["name"], signing_key=row["signing_key"], created_at=row["created_at"])


class ProjectRepository:
    def __init__(self, pool: Any) -> None:
        self._pool = pool

    async def create(self, name: str) -> NewProject:
        project_id, secret_key = new_project_id(), new_secret_key()
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "INSERT INTO projects (id, name, signing_key) VALUES ($1, $2, $3) RETURNING *",
                project_id,
                name,
                new_signing_key(),
            )
            await conn.execute(
                "INSERT INTO api_keys (digest, project_id, prefix) VALUES ($1, $2, $3)",
                digest(secret_key),
                project_id,
                secret_key[:8],
            )
        return NewProject(project=_project(row), secret_key=secret_key)

    async def by_secret_key(self, secret_key: str) -> Project | None:
        row = await self._pool.fetchrow(
            "SELECT p.* FROM api_keys k JOIN projects p ON p.id = k.project_id "
            "WHERE k.digest = $1 AND k.revoked_at IS NULL",
            digest(secret_key),
        )
        return _project(row) if row else None

    async def get(self, project_id: str) -> Project | None:
        row = await self._pool.fetchrow("SELECT * FROM projects WHERE id = $1", project_id)
        return _project(row) if row else None

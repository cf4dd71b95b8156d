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

    async def list(self) -> list[Project]:
        rows = await self._pool.fetch("SELECT * FROM projects ORDER BY created_at, id")
        return [_project(r) for r in rows]

    async def rotate_key(self, project_id: str) -> str | None:
        """A new secret key for the project; its earlier keys stop working at once."""
        secret_key = new_secret_key()
        async with self._pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval("SELECT 1 FROM projects WHERE id = $1 FOR UPDATE", project_id):
                return None
            await conn.execute("UPDATE api_keys SET revoked_at = now() "
                               "WHERE project_id = $1 AND revoked_at IS NULL", project_id)
            await conn.execute(
                "INSERT INTO api_keys (digest, project_id, prefix) VALUES ($1, $2, $3)",
                digest(secret_key), project_id, secret_key[:8])
        return secret_key

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

"""Projects (tenants), for operators holding the admin token: create, list, rotate a key."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from ferry_kit.errors import ApiError
from pydantic import BaseModel, Field

from ..auth import require_admin
from .params import ProjectId

router = APIRouter(tags=["projects"])


class ProjectIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)


@router.post("/v1/projects", status_code=201)
async def create_project(body: ProjectIn, request: Request) -> dict[str, str]:
    require_admin(request)
    created = await request.app.state.projects.create(body.name)
    return {
        "project_id": created.project.id,
        "name": created.project.name,
        "secret_key": created.secret_key,
        "signing_key": created.project.signing_key,
    }


@router.get("/v1/projects")
async def list_projects(request: Request) -> dict[str, Any]:
    """Every project: `{"data": [{"project_id", "name", "created_at"}]}` (admin token)."""
    require_admin(request)
    projects = await request.app.state.projects.list()
    return {"data": [{"project_id": p.id, "name": p.name, "created_at": p.created_at.isoformat()}
                     for p in projects]}


@router.post("/v1/projects/{project_id}/rotate-key")
async def rotate_key(project_id: ProjectId, request: Request) -> dict[str, str]:
    """A new secret key; the project's earlier keys are revoked at once (admin token). Another
    gateway process may take them up to `FERRY_KEY_CACHE_SECONDS` (1 s) longer."""
    require_admin(request)
    secret_key = await request.app.state.projects.rotate_key(project_id)
    if secret_key is None:
        raise ApiError(404, "not_found", f"no project {project_id}")
    return {"project_id": project_id, "secret_key": secret_key}

"""`POST /v1/projects`: operators create tenants with the admin token."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from ..errors import ApiError

router = APIRouter(tags=["projects"])


class ProjectIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)


@router.post("/v1/projects", status_code=201)
async def create_project(body: ProjectIn, request: Request) -> dict[str, str]:
    token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not token:
        raise ApiError(401, "missing_token", "send Authorization: Bearer <FERRY_ADMIN_TOKEN>")
    if not hmac.compare_digest(token.encode(), request.app.state.settings.admin_token.encode()):
        raise ApiError(401, "invalid_token", "the admin token is not valid")
    created = await request.app.state.projects.create(body.name)
    return {
        "project_id": created.project.id,
        "name": created.project.name,
        "secret_key": created.secret_key,
        "signing_key": created.project.signing_key,
    }

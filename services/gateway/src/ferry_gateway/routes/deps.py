"""Shared route dependencies: upstream clients and connection ownership checks."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from ..auth import Principal
from ..upstream import Upstreams, call, ok_json, path


def upstreams(request: Request) -> Upstreams:
    return request.app.state.upstreams


Up = Annotated[Upstreams, Depends(upstreams)]


async def load_connection(up: Upstreams, principal: Principal, connection_id: str) -> dict[str, Any]:
    """The connection if it exists in the caller's project and the caller may see it."""
    where = path("internal", "projects", principal.project.id, "connections", connection_id)
    resp = await call(up.connections, "GET", where)
    connection = ok_json(resp)
    principal.require_user(connection["user_id"])
    return connection

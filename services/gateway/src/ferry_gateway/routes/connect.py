"""The end user's connect page and OAuth callback, served by the connections service.

The gateway passes them through so that customers expose one public host.
"""

from __future__ import annotations

import httpx
from fastapi import APIRouter, Query, Request, Response
from ferry_kit.errors import ApiError

from ..upstream import path
from .deps import Up
from .params import ConnectionId

router = APIRouter(include_in_schema=False)

_PASS_HEADERS = ("location", "content-type", "cache-control", "set-cookie")
# The signed link token of a connect page: URL-safe characters only.
_LINK_TOKEN = r"^[A-Za-z0-9._~-]*$"


async def _forward(request: Request, up: Up, where: str) -> Response:
    body = await request.body()
    headers = {"content-type": request.headers.get("content-type", "")} if body else {}
    if "cookie" in request.headers:  # binds the OAuth callback to the browser that started it
        headers["cookie"] = request.headers["cookie"]
    resp = await _request(up, request.method, where, dict(request.query_params), body, headers)
    out = Response(content=resp.content, status_code=resp.status_code)
    for name in _PASS_HEADERS:
        if name in resp.headers:
            out.headers[name] = resp.headers[name]
    return out


async def _request(
    up: Up, method: str, where: str, params: dict[str, str], body: bytes, headers: dict[str, str]
) -> httpx.Response:
    try:
        return await up.connections.request(method, where, params=params, content=body or None,
                                            headers=headers)
    except httpx.HTTPError as exc:
        raise ApiError(503, "service_unavailable",
                       "the connect service is unavailable; retry shortly") from exc


# Only what the connections service serves to browsers, by explicit route: anything else under
# /connect or /oauth is the gateway's own 404 and never leaves it.
@router.get("/connect/{connection_id}")
async def connect_page(
    connection_id: ConnectionId, request: Request, up: Up,
    t: str = Query("", pattern=_LINK_TOKEN, max_length=512),
) -> Response:
    return await _forward(request, up, path("connect", connection_id))


@router.post("/connect/{connection_id}")
async def connect_decision(connection_id: ConnectionId, request: Request, up: Up) -> Response:
    return await _forward(request, up, path("connect", connection_id))


@router.get("/oauth/callback")
async def oauth_callback(request: Request, up: Up) -> Response:
    return await _forward(request, up, "/oauth/callback")

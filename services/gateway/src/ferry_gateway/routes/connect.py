"""The end user's connect page and OAuth callback, served by the connections service.

The gateway passes them through so that customers expose one public host.
"""

from __future__ import annotations

import httpx
from fastapi import APIRouter, Request, Response

from ..errors import ApiError
from .deps import Up

router = APIRouter(include_in_schema=False)

_PASS_HEADERS = ("location", "content-type", "cache-control", "set-cookie")


async def _forward(request: Request, up: Up, path: str) -> Response:
    body = await request.body()
    headers = {"content-type": request.headers.get("content-type", "")} if body else {}
    if "cookie" in request.headers:  # binds the OAuth callback to the browser that started it
        headers["cookie"] = request.headers["cookie"]
    resp = await _request(up, request.method, path, dict(request.query_params), body, headers)
    out = Response(content=resp.content, status_code=resp.status_code)
    for name in _PASS_HEADERS:
        if name in resp.headers:
            out.headers[name] = resp.headers[name]
    return out


async def _request(
    up: Up, method: str, path: str, params: dict[str, str], body: bytes, headers: dict[str, str]
) -> httpx.Response:
    try:
        return await up.connections.request(method, path, params=params, content=body or None, headers=headers)
    except httpx.HTTPError as exc:
        raise ApiError(503, "service_unavailable", "the connect service is unavailable; retry shortly") from exc


@router.api_route("/connect/{path:path}", methods=["GET", "POST"])
async def connect_page(path: str, request: Request, up: Up) -> Response:
    return await _forward(request, up, f"/connect/{path}")


@router.get("/oauth/callback")
async def oauth_callback(request: Request, up: Up) -> Response:
    return await _forward(request, up, "/oauth/callback")


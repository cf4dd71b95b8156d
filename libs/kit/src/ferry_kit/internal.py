"""Internal HTTP between services: a shared-token guard for servers and a client factory."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import httpx
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from ferry_connectors.transport import AiohttpTransport

from . import errors

HEADER = "x-ferry-internal-token"


def guard(token: str) -> Any:  # FastAPI types `Depends(...)` as Any, to sit in any signature
    """A dependency refusing calls that do not carry the internal token."""
    if not token:  # "" would match a request without the header
        raise ValueError("the internal token (FERRY_INTERNAL_TOKEN) must not be empty")
    expected = token.encode()

    async def _check(request: Request) -> None:
        given = request.headers.get(HEADER, "")
        if not hmac.compare_digest(given.encode(), expected):
            raise HTTPException(status_code=401, detail="internal token required")

    return Depends(_check)


def router(token: str) -> APIRouter:
    """A service's `/internal` routes, mounted apart from any public one: each needs the token."""
    return APIRouter(prefix="/internal", dependencies=[guard(token)])


def create_app(title: str, token: str) -> tuple[FastAPI, APIRouter]:
    """A service's internal HTTP app and its guarded `/internal` router: no published docs or
    spec, the one error model, an open `/healthz`. Declare the routes on the router, then
    `app.include_router(router)` (FastAPI copies the routes a router has when it is included)."""
    app = FastAPI(title=title, docs_url=None, redoc_url=None, openapi_url=None)
    errors.install(app)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app, router(token)


def client(base_url: str, token: str, timeout: float = 30.0) -> httpx.AsyncClient:
    """httpx's client to another service, over aiohttp's connections (`AiohttpTransport`):
    httpx's own transport cost the gateway about half of its CPU per proxied request, httpcore
    and anyio more than the request itself. Failures are still httpx's."""
    return httpx.AsyncClient(base_url=base_url, headers={HEADER: token}, timeout=timeout,
                             transport=AiohttpTransport(max_connections=100))


def token_fingerprint(access_token: str) -> str:
    """How one service names an access token to another without sending it (SHA-256, hex)."""
    return hashlib.sha256(access_token.encode()).hexdigest()

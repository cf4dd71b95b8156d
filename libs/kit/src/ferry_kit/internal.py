"""Internal HTTP between services: a shared-token guard for servers and a client factory."""

from __future__ import annotations

import hashlib
import hmac

import httpx
from fastapi import Depends, HTTPException, Request

HEADER = "x-ferry-internal-token"


def guard(token: str):  # noqa: ANN201 - a FastAPI dependency
    """A dependency refusing calls that do not carry the internal token."""

    async def _check(request: Request) -> None:
        given = request.headers.get(HEADER, "")
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise HTTPException(status_code=401, detail="internal token required")

    return Depends(_check)


def client(base_url: str, token: str, timeout: float = 30.0) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url, headers={HEADER: token}, timeout=timeout)




def token_fingerprint(access_token: str) -> str:
    """How one service names an access token to another without sending it (SHA-256, hex)."""
    return hashlib.sha256(access_token.encode()).hexdigest()

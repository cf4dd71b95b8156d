"""Reaching a connection's provider: fresh credentials and the connection's request budget."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
from ferry_connectors.definition import RateLimit
from ferry_kit import errors, internal

from . import domain
from .domain import KnownConnection
from .repository import Repository

# Repositories on a pooled connection, no transaction (`UnitOfWorkFactory.read`).
Reader = Callable[[], AbstractAsyncContextManager[Repository]]


class CredentialsError(Exception):
    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


@dataclass(frozen=True)
class Credentials:
    access_token: str | None = field(repr=False)  # never printed, even by accident
    base_url: str
    provider_name: str
    expires_at: datetime | None
    # The auth headers and query parameters to send, already rendered by the connections service.
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    params: dict[str, str] = field(default_factory=dict, repr=False)
    connection_config: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_answer(cls, body: dict[str, Any]) -> Credentials:
        """Both shapes of the answer: with `headers` (definitions), or a bare bearer token."""
        token = body.get("access_token")
        headers = body.get("headers")
        if headers is None:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
        return cls(token, body["base_url"], body.get("provider_name", ""),
                   domain.parse_time(body.get("expires_at")), dict(headers),
                   dict(body.get("params") or {}), dict(body.get("connection_config") or {}))


def _unreachable(e: Exception) -> str:
    return f"the connections service is unreachable ({type(e).__name__})"


class CredentialsClient:
    """Asks the connections service, which refreshes tokens before they expire (and knows every
    connection's current state)."""

    def __init__(self, base_url: str, token: str) -> None:
        self.http = internal.client(base_url, token, timeout=30.0)

    async def close(self) -> None:
        await self.http.aclose()

    async def get(self, connection_id: str, *, rejected: str | None = None) -> Credentials:
        """A valid token; with `rejected` (an access token the provider answered 401 to), a token
        other than that one: refreshed now unless another caller already did."""
        path = f"/internal/connections/{connection_id}/credentials"
        try:
            if rejected is None:
                resp = await self.http.get(path)
            else:
                fingerprint = internal.token_fingerprint(rejected)
                resp = await self.http.post(path + "/refresh",
                                            json={"rejected_token_sha256": fingerprint})
        except httpx.HTTPError as e:
            raise CredentialsError(_unreachable(e), retryable=True) from e
        if resp.status_code == 200:
            return Credentials.from_answer(resp.json())
        try:
            code, message = resp.json()["error"]["code"], resp.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            code, message = "", resp.text[:200]
        if resp.status_code == 404:
            raise CredentialsError("the connection no longer exists", retryable=False)
        if resp.status_code == 409:
            raise CredentialsError(f"auth_error: {message}", retryable=False)
        if code in ("provider_auth_config", "provider_unavailable"):
            # Faults of Ferry's OAuth client or of the provider, not of the end user's grant.
            raise CredentialsError(f"{code}: {message}", retryable=code == "provider_unavailable")
        raise CredentialsError(f"credentials unavailable ({resp.status_code}): {message}",
                               retryable=resp.status_code >= 500)

    async def connection(self, project_id: str, connection_id: str) -> KnownConnection | None:
        """The connection's current status and readable models; None when it does not exist."""
        where = "/internal/projects/{}/connections/{}".format(
            quote(project_id, safe=""), quote(connection_id, safe=""))
        try:
            resp = await self.http.get(where)
        except httpx.HTTPError as e:
            raise errors.ApiError(503, "service_unavailable", _unreachable(e)) from e
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise errors.ApiError(503, "service_unavailable",
                                  f"the connections service answered {resp.status_code}")
        body = resp.json()
        config = body.get("resolved_sync_config") or []
        return KnownConnection(
            connection_id=connection_id, project_id=project_id, provider_name=body["provider_name"],
            status=body["status"], readable=domain.readable((m["data_model"], m.get("access", ""))
                                                            for m in config),
        )


class Budget:
    """One request budget per connection: a token bucket in this process, plus the provider's
    own "retry after" stored in Postgres so every executor process and job honours it.

    The rate and burst are the provider's (its definition's `rate_limit`); `override_rate` /
    `override_burst` (settings) replace them for every provider, e.g. for benchmarks."""

    def __init__(self, read: Reader, override_rate: float | None = None,
                 override_burst: int | None = None, recheck_seconds: float = 1.0) -> None:
        self.read = read
        self.override_rate = override_rate
        self.override_burst = override_burst
        # The stored "retry after" is read again this long after the last read (one query per
        # second instead of one per page); a block set in this process counts at once.
        self.recheck_seconds = recheck_seconds
        self._buckets: dict[str, tuple[float, float]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._blocks: dict[str, tuple[datetime | None, float]] = {}  # until, read at (monotonic)

    async def acquire(self, connection_id: str, limit: RateLimit | None = None) -> None:
        limit = limit or RateLimit()
        rate = self.override_rate or limit.requests_per_second
        burst = float(self.override_burst or limit.burst)
        lock = self._locks.setdefault(connection_id, asyncio.Lock())
        async with lock:
            until = await self._blocked_until(connection_id)
            if until is not None:
                await asyncio.sleep(max(0.0, (until - domain.utcnow()).total_seconds()))
            now = time.monotonic()
            tokens, last = self._buckets.get(connection_id, (burst, now))
            tokens = min(burst, tokens + (now - last) * rate)
            if tokens < 1.0:
                await asyncio.sleep((1.0 - tokens) / rate)
                now = time.monotonic()
                tokens = 1.0
            self._buckets[connection_id] = (tokens - 1.0, now)

    async def _blocked_until(self, connection_id: str) -> datetime | None:
        until, read_at = self._blocks.get(connection_id, (None, -float("inf")))
        if time.monotonic() - read_at >= self.recheck_seconds:
            read_at = time.monotonic()
            async with self.read() as repos:
                until = await repos.blocked_until(connection_id)
            self._blocks[connection_id] = (until, read_at)
        return until if until is not None and until > domain.utcnow() else None

    async def slow_down(self, connection_id: str, seconds: float) -> None:
        async with self.read() as repos:  # one statement: no transaction needed
            await repos.block(connection_id, seconds)
        self._blocks.pop(connection_id, None)  # the next request reads the block just stored

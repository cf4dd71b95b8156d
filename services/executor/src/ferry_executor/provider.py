"""Reaching a connection's provider: fresh credentials and the connection's request budget."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg
import httpx
from ferry_kit import internal

from . import domain
from . import repository as repo


class CredentialsError(Exception):
    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


@dataclass(frozen=True)
class Credentials:
    access_token: str = field(repr=False)  # never printed, even by accident
    base_url: str
    provider_name: str
    expires_at: datetime | None


class CredentialsClient:
    """Asks the connections service, which refreshes tokens before they expire."""

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
                resp = await self.http.post(path + "/refresh",
                                            json={"rejected_token_sha256": internal.token_fingerprint(rejected)})
        except httpx.HTTPError as e:
            raise CredentialsError(f"the connections service is unreachable ({type(e).__name__})", retryable=True) from e
        if resp.status_code == 200:
            body = resp.json()
            return Credentials(body["access_token"], body["base_url"], body.get("provider_name", ""),
                               domain.parse_time(body.get("expires_at")))
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
        raise CredentialsError(f"credentials unavailable ({resp.status_code}): {message}", retryable=resp.status_code >= 500)


class Budget:
    """One request budget per connection: a token bucket in this process, plus the provider's
    own "retry after" stored in Postgres so every executor process and job honours it."""

    def __init__(self, pool: asyncpg.Pool, rate: float, burst: int) -> None:
        self.pool = pool
        self.rate = rate
        self.burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def acquire(self, connection_id: str) -> None:
        lock = self._locks.setdefault(connection_id, asyncio.Lock())
        async with lock:
            async with self.pool.acquire() as conn:
                until = await repo.blocked_until(conn, connection_id)
            if until is not None:
                await asyncio.sleep(max(0.0, (until - domain.utcnow()).total_seconds()))
            now = time.monotonic()
            tokens, last = self._buckets.get(connection_id, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                await asyncio.sleep((1.0 - tokens) / self.rate)
                now = time.monotonic()
                tokens = 1.0
            self._buckets[connection_id] = (tokens - 1.0, now)

    async def slow_down(self, connection_id: str, seconds: float) -> None:
        async with self.pool.acquire() as conn:
            await repo.block(conn, connection_id, seconds)

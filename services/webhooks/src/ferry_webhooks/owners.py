"""The user of a connection the projection does not know yet, asked of the connections service."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import httpx
from ferry_kit import logging as klog

log = klog.get("ferry.webhooks")

# `users(project_id, connection_id)` -> the connection's user_id, None when unknown.
UserLookup = Callable[[str, str], Awaitable[str | None]]


class ConnectionsUsers:
    """user_id of a connection, from the connections service; answers are cached, and a failed
    call makes the next ones answer None at once for a while."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.cache: dict[str, str | None] = {}
        self._down_until = 0.0

    async def __call__(self, project_id: str, connection_id: str) -> str | None:
        if connection_id in self.cache:
            return self.cache[connection_id]
        if time.monotonic() < self._down_until:
            return None  # the connections service just failed: do not wait on it for every event
        try:
            resp = await self.client.get(
                f"/internal/projects/{project_id}/connections/{connection_id}")
        except httpx.HTTPError as exc:
            log.warning("connection lookup failed", connection_id=connection_id, error=str(exc))
            self._down_until = time.monotonic() + 10
            return None
        user_id: str | None = resp.json().get("user_id") if resp.status_code == 200 else None
        if resp.status_code in (200, 404):
            if len(self.cache) > 100_000:
                self.cache.clear()
            self.cache[connection_id] = user_id
        return user_id

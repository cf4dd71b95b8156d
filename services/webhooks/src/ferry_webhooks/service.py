"""Use cases: turn events into messages (one per matching endpoint), manage endpoints."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import asyncpg
import httpx
from ferry_contracts import Envelope
from ferry_contracts.connections import ConnectionChanged
from ferry_contracts.topics import CONNECTION_CHANGED, RECORD_CHANGED, SYNC_COMPLETED
from ferry_kit import inbox
from ferry_kit import logging as klog

from . import domain, guard
from . import repository as repo
from .settings import Settings

log = klog.get("ferry.webhooks")

UserLookup = Callable[[str, str], Awaitable[str | None]]


class InvalidInput(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class ConnectionsUsers:
    """user_id of a connection the projection does not know yet, from the connections service."""

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
            resp = await self.client.get(f"/internal/projects/{project_id}/connections/{connection_id}")
        except httpx.HTTPError as exc:
            log.warning("connection lookup failed", connection_id=connection_id, error=str(exc))
            self._down_until = time.monotonic() + 10
            return None
        user_id = resp.json().get("user_id") if resp.status_code == 200 else None
        if resp.status_code in (200, 404):
            if len(self.cache) > 100_000:
                self.cache.clear()
            self.cache[connection_id] = user_id
        return user_id


class Webhooks:
    def __init__(self, settings: Settings, pool: asyncpg.Pool, users: UserLookup,
                 resolve: guard.Resolve = guard.system_resolve) -> None:
        self.settings = settings
        self.pool = pool
        self.users = users
        self.resolve = resolve

    # --- events -> messages -----------------------------------------------------------------

    async def on_sync_completed(self, events: list[Envelope[Any]]) -> None:
        await self._fan_out(SYNC_COMPLETED, events, domain.sync_event)

    async def on_record_changed(self, events: list[Envelope[Any]]) -> None:
        await self._fan_out(RECORD_CHANGED, events, domain.record_event)

    async def _fan_out(self, topic: str, events: list[Envelope[Any]], build: Callable[..., tuple[str, dict[str, Any]]]) -> None:
        events = [e for e in events if e.project_id]
        projects = {e.project_id for e in events}
        async with self.pool.acquire() as conn:
            endpoints = await repo.enabled_endpoints(conn, list(projects)) if projects else []
            wanted = {e["project_id"] for e in endpoints}
            cids = {self._cid(e) for e in events if e.project_id in wanted} - {None}
            users = await repo.user_ids(conn, list(cids)) if cids else {}
        for e in events:  # connections not projected yet: ask their owner, outside the transaction
            cid = self._cid(e)
            if e.project_id in wanted and cid and cid not in users:
                users[cid] = await self.users(e.project_id, cid)
        async with self.pool.acquire() as conn, conn.transaction():
            fresh = await inbox.claim(conn, topic, events)
            endpoints = await repo.enabled_endpoints(conn, list({e.project_id for e in fresh}))
            messages = []
            for e in fresh:
                kind, data = build(e, users.get(self._cid(e) or ""))
                messages += self._messages(endpoints, e.project_id, self._cid(e), e.id, e.occurred_at, kind, data)
            await repo.insert_messages(conn, messages)

    @staticmethod
    def _cid(e: Envelope[Any]) -> str | None:
        return e.connection_id or getattr(e.data, "connection_id", None)

    @staticmethod
    def _messages(endpoints: list[asyncpg.Record], project_id: str, connection_id: str | None, event_id: Any,
                  at: datetime, kind: str, data: dict[str, Any]) -> list[repo.NewMessage]:
        out = []
        for ep in endpoints:
            if ep["project_id"] != project_id or not domain.matches(ep["event_types"], kind):
                continue
            mid = domain.new_message_id()
            out.append(repo.NewMessage(
                id=mid, project_id=project_id, endpoint_id=ep["id"], connection_id=connection_id,
                lane=domain.lane(ep["ordered"], connection_id, mid), ordered=ep["ordered"], event_id=event_id,
                event_type=kind, body=domain.body(mid, kind, at, project_id, data), created_at=at,
            ))
        return out

    async def on_connection_changed(self, events: list[Envelope[Any]]) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            fresh = await inbox.claim(conn, CONNECTION_CHANGED, events)
            messages: list[repo.NewMessage] = []
            for e in fresh:
                messages += await self._apply_connection(conn, e)
            await repo.insert_messages(conn, messages)

    async def _apply_connection(self, conn: asyncpg.Connection, e: Envelope[Any]) -> list[repo.NewMessage]:
        c: ConnectionChanged = e.data
        known = await repo.connection(conn, c.connection_id)
        if known is not None and known["version"] > c.version:
            return []  # an older update arriving late
        if c.status == "DELETED":
            await repo.delete_connection(conn, c.connection_id)
            return []
        project_id = e.project_id or (known["project_id"] if known else None)
        await repo.upsert_connection(conn, {
            "connection_id": c.connection_id, "project_id": project_id, "user_id": c.user_id,
            "provider_name": c.provider_name, "status": c.status, "version": c.version,
        })
        previous = c.previous_status if c.previous_status is not None else (known["status"] if known else None)
        change = domain.status_event(c, previous)
        if change is None or not project_id:
            return []
        endpoints = await repo.enabled_endpoints(conn, [project_id])
        return self._messages(endpoints, project_id, c.connection_id, e.id, e.occurred_at, *change)

    # --- endpoints --------------------------------------------------------------------------

    async def create_endpoint(self, project_id: str, url: str, event_types: list[str] | None,
                              description: str | None, ordered: bool) -> asyncpg.Record:
        types = list(dict.fromkeys(event_types or []))
        bad = domain.invalid_event_types(event_types or [])
        if bad:
            i = bad[0]
            raise InvalidInput(f"event_types[{i}]", f"unknown event type {event_types[i]!r}; "  # type: ignore[index]
                               f"one of {', '.join(domain.EVENT_TYPES)}")
        try:
            await guard.check(url, self.settings.webhooks_allow_loopback_urls, self.resolve)
        except guard.Blocked as exc:
            raise InvalidInput("url", f"URL refused: {exc}") from None
        async with self.pool.acquire() as conn:
            return await repo.insert_endpoint(conn, {
                "id": domain.new_endpoint_id(), "project_id": project_id, "url": url, "description": description,
                "event_types": types, "ordered": ordered, "secret": domain.new_secret(),
            })

    async def rotate_secret(self, project_id: str, endpoint_id: str) -> asyncpg.Record | None:
        async with self.pool.acquire() as conn:
            return await repo.rotate_secret(conn, project_id, endpoint_id, domain.new_secret(),
                                            self.settings.webhooks_rotation_overlap_hours)

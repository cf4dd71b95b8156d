"""Reads of the connections service's state, as its internal API and connect page show them."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ferry_kit.clock import Clock
from ferry_kit.errors import NotFound

from . import domain, oauth_flow
from .catalogue import Catalogue
from .domain import Connection, LinkInvalid, PageView, ProjectConfig
from .links import Links
from .repository import Repository
from .settings import Settings

Reader = Callable[[], AbstractAsyncContextManager[Repository]]
Json = dict[str, Any]

INVALID_LINK = ("This connection link is not valid. Ask the app that sent you here for a new "
                "one.")
EXPIRED_LINK = "This connection link has expired. Ask the app that sent you here for a new one."


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass(frozen=True)
class Context:
    """What views (and the handlers answering with a connection) show connections with."""

    catalogue: Catalogue
    links: Links
    clock: Clock
    settings: Settings

    def connection(self, c: Connection, project: ProjectConfig) -> Json:
        """The connection JSON of API.md, plus `project_id`, `resolved_sync_config` and what a
        re-authorization would add (`missing_scopes`)."""
        provider = self.catalogue.installed(c.provider_name)
        desired = domain.desired_config(provider, c.requested_data_types, c.sync_config, project)
        missing = domain.missing_scopes(provider, desired, c.granted_scopes)
        own = c.sync_config
        resolved = domain.effective_config(provider, desired, c.granted_scopes)
        return {
            "id": c.id, "project_id": c.project_id, "user_id": c.user_id,
            "provider_name": c.provider_name, "requested_data_types": c.requested_data_types,
            "skip_permissions": c.skip_permissions,
            "redirect_url": self.links.redirect_url(c.id, self.clock.now()),
            "return_url": c.return_url, "status": c.status,
            "connected_at": _iso(c.connected_at), "created_at": _iso(c.created_at),
            "disconnected_at": _iso(c.disconnected_at),
            "sync_config": ({"data_models": [m.to_json() for m in own]}
                            if own is not None else None),
            "granted_scopes": c.granted_scopes or [],
            "resolved_sync_config": [m.to_json() for m in resolved],
            "full_sync_interval_hours": project.full_sync_interval_hours,
            "reauthorization_required": bool(missing),
            "missing_scopes": missing,
            "connection_config": c.connection_config,
        }


# ---- catalogue, project sync config, integrations ----

async def providers(read: Reader, catalogue: Catalogue, project_id: str) -> list[Json]:
    """The catalogue, each provider saying whether the project has an app for it."""
    configured: set[str] = set()
    if project_id:
        async with read() as repos:
            configured = {i.provider for i in await repos.integrations(project_id)}
    return [p.entry(p.name in configured) for p in catalogue.all()]


async def project_config(read: Reader, project_id: str) -> Json:
    async with read() as repos:
        stored = await repos.stored_project_config(project_id)
    return {**(stored or ProjectConfig()).to_json(), "is_default": stored is None}


async def integrations(read: Reader, project_id: str) -> Json:
    async with read() as repos:
        return {"data": [i.to_json() for i in await repos.integrations(project_id)]}


async def integration(read: Reader, catalogue: Catalogue, project_id: str, name: str) -> Json:
    if catalogue.get(name) is None:
        raise NotFound(f"no provider {name}")
    async with read() as repos:
        found = await repos.integration(project_id, name)
    if found is None:
        raise NotFound(f"no integration for {name} in this project")
    return found.to_json()


# ---- connections ----

async def user_connections(read: Reader, ctx: Context, project_id: str, user_id: str) -> Json:
    async with read() as repos:
        rows = await repos.user_connections(project_id, user_id)
        project = await repos.project_config(project_id)
    return {"data": [ctx.connection(c, project) for c in rows], "next_cursor": None}


async def search_connections(
    read: Reader, ctx: Context, project_id: str, limit: int, *, user_id: str | None,
    provider_name: str | None, status: str | None, after: str | None,
) -> Json:
    """One page of the project's connections, newest first, filtered as asked."""
    async with read() as repos:
        rows = await repos.project_connections(
            project_id, user_id=user_id, provider_name=provider_name, status=status, after=after,
            limit=limit + 1)
        project = await repos.project_config(project_id)
    page = rows[:limit]
    more = len(rows) > limit
    return {"data": [ctx.connection(c, project) for c in page],
            "next_cursor": page[-1].id if more else None, "has_more": more}


async def connection(read: Reader, ctx: Context, project_id: str, connection_id: str) -> Json:
    async with read() as repos:
        c = await repos.connection(connection_id, project_id)
        if c is None:
            raise NotFound(f"no connection {connection_id}")
        return ctx.connection(c, await repos.project_config(project_id))


async def status_history(read: Reader, project_id: str, connection_id: str) -> Json:
    async with read() as repos:
        if await repos.connection(connection_id, project_id) is None:
            raise NotFound(f"no connection {connection_id}")
        rows = await repos.status_history(connection_id)
    return {"data": [{"status": r.status, "previous_status": r.previous_status,
                      "changed_at": _iso(r.changed_at)} for r in rows]}


# ---- the connect page ----

async def linked_connection(
    repos: Repository, links: Links, now: datetime, connection_id: str, token: str, *,
    lock: bool = False,
) -> Connection:
    """The connection a connect link names, while the link is good (an error page otherwise)."""
    c = await repos.connection(connection_id, lock=lock)
    expires = links.expiry(token or "", connection_id)
    if c is None or expires is None:
        raise LinkInvalid(INVALID_LINK, 404)
    if expires <= now:
        raise LinkInvalid(EXPIRED_LINK, 410)
    return c


async def connect_page(read: Reader, ctx: Context, connection_id: str, token: str) -> PageView:
    """What the connect page shows: the models and access asked for, and whether to connect."""
    async with read() as repos:
        c = await linked_connection(repos, ctx.links, ctx.clock.now(), connection_id, token)
        project = await repos.project_config(c.project_id)
    provider = ctx.catalogue.installed(c.provider_name)
    desired = domain.desired_config(provider, c.requested_data_types, c.sync_config, project)
    missing = domain.missing_scopes(provider, desired, c.granted_scopes)
    connectable = c.status in domain.CONNECTABLE and (c.status != "CONNECTED" or bool(missing))
    notice = domain.NOTICES.get(c.status, "")
    if c.status == "CONNECTED" and missing:
        notice = domain.MORE_ACCESS
    return PageView(c, provider.display_name, desired, connectable, notice,
                    oauth_flow.form_fields(provider))

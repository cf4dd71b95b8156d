"""Use cases of the connections service: catalogue, sync config, connections (seed 004).

Every change of a connection bumps its version and writes `connection.changed` to the outbox
in the same transaction. The connect flow and credentials live in `connect.py` and
`credentials.py`; they share the helpers here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
from ferry_contracts import ConnectionChanged, Envelope, uuid7
from ferry_contracts.sync import initial_job_id
from ferry_kit import outbox

from . import domain, given
from . import repository as repo
from .catalogue import Catalogue, Provider
from .crypto import Cipher
from .domain import Conflict, Connection, Invalid, ModelConfig, NotFound, ProjectConfig
from .integrations import Integrations
from .settings import Settings


def utcnow() -> datetime:
    return datetime.now(UTC)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


class Connections:
    def __init__(self, settings: Settings, pool: asyncpg.Pool, cipher: Cipher, catalogue: Catalogue,
                 http: httpx.AsyncClient, clock: Callable[[], datetime] = utcnow) -> None:
        self.settings, self.pool, self.cipher, self.clock = settings, pool, cipher, clock
        self.catalogue, self.http = catalogue, http
        self.integrations = Integrations(self)

    def provider_of(self, c: Connection) -> Provider:
        provider = self.catalogue.get(c.provider_name)
        if provider is None:  # a connector removed from this install: its connections cannot work
            raise Conflict("unknown_provider", f"provider {c.provider_name} is not installed")
        return provider

    # ---- views ----

    def redirect_url(self, connection_id: str) -> str:
        """A connect link, signed with its expiry (`<unix time>.<MAC>`): links leak (mail,
        chat, history), so each works for `connect_link_ttl_seconds` only."""
        expires = int(self.clock().timestamp()) + self.settings.connect_link_ttl_seconds
        token = f"{expires}.{self.cipher.sign(f'{connection_id}.{expires}')}"
        return f"{self.settings.public_url.rstrip('/')}/connect/{connection_id}?t={token}"

    def link_expiry(self, token: str, connection_id: str) -> datetime | None:
        """When a connect link expires; None when it is not one signed for this connection."""
        expires, _, mac = token.partition(".")
        if not self.cipher.verify(mac, f"{connection_id}.{expires}"):
            return None
        return datetime.fromtimestamp(int(expires), UTC)  # signed by us: digits

    def view(self, c: Connection, project: ProjectConfig) -> dict[str, Any]:
        """The connection JSON of API.md, plus `project_id`, `resolved_sync_config` and what a
        re-authorization would add (`missing_scopes`)."""
        provider = self.provider_of(c)
        desired = domain.desired_config(provider, c.requested_data_types, c.sync_config, project)
        missing = domain.missing_scopes(provider, desired, c.granted_scopes)
        return {
            "id": c.id, "project_id": c.project_id, "user_id": c.user_id, "provider_name": c.provider_name,
            "requested_data_types": c.requested_data_types, "skip_permissions": c.skip_permissions,
            "redirect_url": self.redirect_url(c.id), "return_url": c.return_url, "status": c.status,
            "connected_at": _iso(c.connected_at), "created_at": _iso(c.created_at),
            "disconnected_at": _iso(c.disconnected_at),
            "sync_config": {"data_models": [m.to_json() for m in c.sync_config]} if c.sync_config is not None else None,
            "granted_scopes": c.granted_scopes or [],
            "resolved_sync_config": [m.to_json() for m in domain.effective_config(provider, desired, c.granted_scopes)],
            "full_sync_interval_hours": project.full_sync_interval_hours,
            "reauthorization_required": bool(missing),
            "missing_scopes": missing,
            "connection_config": c.connection_config,
        }

    def initial_jobs(self, c: Connection, project: ProjectConfig, batch_id: str) -> list[str]:
        """The job ids the initial sync of a connection connected at creation will have."""
        provider = self.provider_of(c)
        desired = domain.desired_config(provider, c.requested_data_types, c.sync_config, project)
        readable = [m for m in domain.effective_config(provider, desired, c.granted_scopes)
                    if m.access in ("READ", "READ_WRITE")]
        return [initial_job_id(batch_id, m.data_model) for m in readable]

    async def emit(self, conn: asyncpg.Connection, c: Connection, previous: str | None, reason: str,
                   project: ProjectConfig | None = None, *, deleted: bool = False,
                   initial_batch_id: str | None = None) -> None:
        project = project or await repo.project_config(conn, c.project_id)
        provider = self.provider_of(c)
        desired = domain.desired_config(provider, c.requested_data_types, c.sync_config, project)
        event = ConnectionChanged(
            connection_id=c.id, user_id=c.user_id, provider_name=c.provider_name,
            status="DELETED" if deleted else c.status,  # type: ignore[arg-type]
            previous_status=previous, reason=reason,  # type: ignore[arg-type]
            connected_at=c.connected_at, disconnected_at=c.disconnected_at,
            sync_config=domain.to_contract(domain.effective_config(provider, desired, c.granted_scopes)),
            full_sync_interval_hours=project.full_sync_interval_hours,
            requested_data_types=[t.upper() for t in c.requested_data_types],
            granted_scopes=c.granted_scopes or [],
            initial_sync_record_events=project.record_events_on_initial_sync,
            initial_batch_id=initial_batch_id,
            version=c.version + 1 if deleted else c.version,
        )
        await outbox.add(conn, [Envelope.of(event, project_id=c.project_id, connection_id=c.id)])

    # ---- catalogue and project sync config ----

    def providers(self, configured: set[str]) -> list[dict[str, Any]]:
        return [p.entry(p.name in configured) for p in self.catalogue.all()]

    async def project_config(self, project_id: str) -> dict[str, Any]:
        async with self.pool.acquire() as conn:
            config = await repo.project_config(conn, project_id)
            stored = await conn.fetchval("SELECT 1 FROM project_sync_configs WHERE project_id = $1", project_id)
        return {**config.to_json(), "is_default": stored is None}

    async def put_project_config(self, project_id: str, body: dict[str, Any]) -> dict[str, Any]:
        models = domain.validate_models(body.get("data_models") or [], self.catalogue.all())
        config = ProjectConfig(tuple(models), body.get("full_sync_interval_hours", 24),
                               body.get("record_events_on_initial_sync", False),
                               domain.validate_origins(body.get("allowed_return_origins") or []))
        needing = 0
        async with self.pool.acquire() as conn, conn.transaction():
            await repo.put_project_config(conn, project_id, config)
            followers = await repo.lock_project_followers(conn, project_id)
            for c in followers:
                saved = await repo.save(conn, c)
                await self.emit(conn, saved, saved.status, "sync_config_changed", config)
                provider = self.catalogue.get(c.provider_name)
                if provider is not None and domain.missing_scopes(
                        provider, domain.desired_config(provider, c.requested_data_types, None, config), c.granted_scopes):
                    needing += 1
        return {**config.to_json(), "is_default": False, "connections_updated": len(followers),
                "connections_needing_reauthorization": needing}

    # ---- connections ----

    async def create(self, project_id: str, user_id: str, body: dict[str, Any]) -> dict[str, Any]:
        provider = self.catalogue.get(str(body.get("provider_name", "")))
        if provider is None:
            names = ", ".join(p.name for p in self.catalogue.all())
            raise Invalid("unknown provider", [{"field": "provider_name", "message":
                          f"unknown provider {body.get('provider_name')!r}; known: {names}"}])
        types = domain.normalize_types(provider, body.get("requested_data_types") or [])
        own = self._own_config(provider, body, types)
        config = provider.check_config(body.get("connection_config") or {})
        secrets = given.check(provider, body.get("credentials"))
        async with self.pool.acquire() as conn:
            origins = (await repo.project_config(conn, project_id)).allowed_return_origins
        domain.check_return_url(body.get("return_url"), origins)
        now = self.clock()
        # Nothing for an end user to do: no authorization, the app's own grant, or a given key.
        connected = provider.auth_type in ("none", "oauth2_client_credentials") or bool(secrets)
        c = Connection(
            id=f"con_{uuid7().hex}", project_id=project_id, user_id=user_id,
            provider_name=provider.name, requested_data_types=types,
            skip_permissions=bool(body.get("skip_permissions", False)),
            return_url=body.get("return_url"),
            status="CONNECTED" if connected else "AUTH_REQUIRED", sync_config=own,
            granted_scopes=None, version=1, created_at=now, connected_at=now if connected else None,
            disconnected_at=None, connection_config=config)
        async with self.pool.acquire() as conn:
            ends = await self.integrations.endpoints(conn, c)
        if secrets:
            refused = await given.verify(self.http, provider, c, ends, secrets)
            if refused:
                raise Invalid(refused, [{"field": "credentials", "message": refused}])
        return await self._insert(c, provider, secrets)

    async def _insert(self, c: Connection, provider: Provider,
                      secrets: dict[str, str] | None) -> dict[str, Any]:
        async with self.pool.acquire() as conn:
            try:
                async with conn.transaction():
                    stored = await repo.insert_connection(
                        conn, c, provider.name if provider.unique else None)
                    if secrets:
                        sealed = given.seal(self.cipher, c.id, secrets)
                        await repo.put_given_secret(conn, c.id, sealed)
                    project = await repo.project_config(conn, c.project_id)
                    batch = str(uuid7()) if stored.status == "CONNECTED" else None
                    await self.emit(conn, stored, None, "created", project, initial_batch_id=batch)
            except asyncpg.UniqueViolationError:
                raise Conflict("unique_provider", f"user {c.user_id} already has a connection to "
                               f"{provider.name}, which allows one connection per user",
                               [{"field": "provider_name", "message": "unique provider"}]) from None
        jobs = self.initial_jobs(stored, project, batch) if batch else []
        return {**self.view(stored, project), "initial_sync_jobs": jobs}

    def _own_config(self, provider: Provider, body: dict[str, Any], types: list[str]) -> list[ModelConfig] | None:
        config = body.get("sync_config")
        if config is None:
            return None
        return domain.validate_models(config.get("data_models") or [], [provider],
                                      prefix="sync_config.data_models", allowed=types)

    async def list(self, project_id: str, user_id: str) -> dict[str, Any]:
        async with self.pool.acquire() as conn:
            rows = await repo.list_for_user(conn, project_id, user_id)
            project = await repo.project_config(conn, project_id)
        return {"data": [self.view(c, project) for c in rows], "next_cursor": None}

    async def search(self, project_id: str, limit: int, **filters: str | None) -> dict[str, Any]:
        """One page of the project's connections, newest first, filtered as asked."""
        async with self.pool.acquire() as conn:
            rows = await repo.list_for_project(conn, project_id, limit=limit + 1, **filters)
            project = await repo.project_config(conn, project_id)
        page = rows[:limit]
        more = len(rows) > limit
        return {"data": [self.view(c, project) for c in page],
                "next_cursor": page[-1].id if more else None, "has_more": more}

    async def get(self, project_id: str, connection_id: str) -> dict[str, Any]:
        async with self.pool.acquire() as conn:
            c = await repo.get(conn, connection_id, project_id)
            if c is None:
                raise NotFound(f"no connection {connection_id}")
            return self.view(c, await repo.project_config(conn, project_id))

    async def status_history(self, project_id: str, connection_id: str) -> dict[str, Any]:
        async with self.pool.acquire() as conn:
            if await repo.get(conn, connection_id, project_id) is None:
                raise NotFound(f"no connection {connection_id}")
            rows = await repo.status_history(conn, connection_id)
        return {"data": [{"status": r["status"], "previous_status": r["previous_status"],
                          "changed_at": _iso(r["changed_at"])} for r in rows]}

    async def patch(self, project_id: str, connection_id: str, body: dict[str, Any]) -> dict[str, Any]:
        async with self.pool.acquire() as conn, conn.transaction():
            c = await repo.get(conn, connection_id, project_id, lock=True)
            if c is None:
                raise NotFound(f"no connection {connection_id}")
            provider = self.provider_of(c)
            previous, now = c.status, self.clock()
            reasons = []
            if "requested_data_types" in body and body["requested_data_types"] is not None:
                domain.check_requested_types_editable(c.status)
                c.requested_data_types = domain.normalize_types(provider, body["requested_data_types"])
                reasons.append("requested_data_types_changed")
            if "sync_config" in body:
                c.sync_config = self._own_config(provider, body, c.requested_data_types)
                reasons.append("sync_config_changed")
            target = body.get("status")
            if target is not None:
                domain.check_patch_status(c.status, target)
                if target == "DISCONNECTED":
                    c.status, c.disconnected_at = "DISCONNECTED", now
                    # Disconnecting revokes Ferry's access: the tokens go.
                    await repo.delete_token(conn, c.id)
                elif provider.auth_type in ("none", "oauth2_client_credentials"):
                    c.status, c.connected_at = "CONNECTED", now  # nothing to authorize: reconnect at once
                else:
                    c.status = "AUTH_REQUIRED"
                reasons.append("status_changed")
            project = await repo.project_config(conn, project_id)
            if not reasons:
                return self.view(c, project)
            saved = await repo.save(conn, c)
            await self.emit(conn, saved, previous, reasons[-1] if len(reasons) == 1 else "updated", project)
        return self.view(saved, project)

    async def delete(self, project_id: str, connection_id: str) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            c = await repo.get(conn, connection_id, project_id, lock=True)
            if c is None:
                raise NotFound(f"no connection {connection_id}")
            # Every service drops what it holds of the connection on this event.
            await self.emit(conn, c, c.status, "deleted", deleted=True)
            await repo.delete(conn, connection_id)

"""Per-project provider apps ("integrations"), and where each connection reaches its provider.

A project's OAuth client is its own: a connection only ever uses the app of its own project, and
an OAuth connection of a project without one is refused (`integration_not_configured`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import asyncpg

from . import repository as repo
from .catalogue import OAUTH, Provider, render, template_values
from .crypto import Cipher
from .domain import Conflict, Connection, Integration, Invalid, NotFound

if TYPE_CHECKING:
    from .service import Connections


def _aad(project_id: str, provider: str) -> str:
    return f"integration:{project_id}:{provider}"


@dataclass(frozen=True)
class Endpoints:
    """Where one connection reaches its provider, and with which app."""

    api_base_url: str
    auth_base_url: str
    client_id: str
    client_secret: str | None
    extra_scopes: tuple[str, ...]

    def __repr__(self) -> str:  # never print the secret, even by accident
        return f"Endpoints({self.api_base_url!r}, {self.auth_base_url!r}, {self.client_id!r})"

    def values(self, c: Connection, **more: Any) -> dict[str, Any]:
        return template_values(c.id, c.connection_config, base_url=self.api_base_url,
                               auth_base_url=self.auth_base_url, **more)


class Integrations:
    def __init__(self, connections: Connections) -> None:
        self.connections = connections

    @property
    def cipher(self) -> Cipher:
        return self.connections.cipher

    def _provider(self, name: str) -> Provider:
        provider = self.connections.catalogue.get(name)
        if provider is None:
            raise NotFound(f"no provider {name}")
        return provider

    async def put(self, project_id: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        provider = self._provider(name)
        async with self.connections.pool.acquire() as conn, conn.transaction():
            old = await repo.integration(conn, project_id, name)
            secret = body.get("client_secret")
            sealed = (self.cipher.encrypt(secret, _aad(project_id, name)) if secret
                      else old.client_secret if old else None)
            client_id = body.get("client_id") or ""
            if provider.auth_type in OAUTH and not client_id:
                raise Invalid("client_id is required", [
                    {"field": "client_id", "message": f"{name} uses OAuth: its app's client id"}])
            app = Integration(project_id, name, client_id, sealed, list(body.get("scopes") or []),
                              body.get("api_base_url"), body.get("auth_base_url"),
                              None, None)  # type: ignore[arg-type]  # set by the database
            saved = await repo.put_integration(conn, app)
        return saved.to_json()

    async def list(self, project_id: str) -> dict[str, Any]:
        async with self.connections.pool.acquire() as conn:
            return {"data": [i.to_json() for i in await repo.integrations(conn, project_id)]}

    async def get(self, project_id: str, name: str) -> dict[str, Any]:
        self._provider(name)
        async with self.connections.pool.acquire() as conn:
            found = await repo.integration(conn, project_id, name)
        if found is None:
            raise NotFound(f"no integration for {name} in this project")
        return found.to_json()

    async def delete(self, project_id: str, name: str) -> None:
        self._provider(name)
        async with self.connections.pool.acquire() as conn:
            if not await repo.delete_integration(conn, project_id, name):
                raise NotFound(f"no integration for {name} in this project")

    async def configured(self, project_id: str) -> set[str]:
        async with self.connections.pool.acquire() as conn:
            return {i.provider for i in await repo.integrations(conn, project_id)}

    async def endpoints(self, conn: asyncpg.Connection, c: Connection) -> Endpoints:
        """The connection's provider URLs and its project's app (409 when OAuth needs one)."""
        provider = self.connections.provider_of(c)
        found = await repo.integration(conn, c.project_id, c.provider_name)
        if found is None and provider.auth_type in OAUTH:
            raise not_configured(c.provider_name)
        settings, d = self.connections.settings, provider.definition
        api = found.api_base_url if found and found.api_base_url else None
        if api is None and d.base_url_setting:
            api = getattr(settings, d.base_url_setting, None)
        if not api:
            api = render(d.base_url, template_values(c.id, c.connection_config))
        api = str(api).rstrip("/")
        auth = found.auth_base_url if found and found.auth_base_url else None
        if auth is None and d.base_url_setting and d.base_url_setting.endswith("_url"):
            # The sandbox is reached by browsers and by Ferry at different addresses.
            auth = getattr(settings, d.base_url_setting[: -len("_url")] + "_public_url", None)
        if not auth:
            template = d.auth_base_url or "{base_url}"
            auth = render(template, template_values(c.id, c.connection_config, base_url=api))
        secret = (self.cipher.decrypt(found.client_secret, _aad(c.project_id, c.provider_name))
                  if found and found.client_secret else None)
        return Endpoints(api, str(auth).rstrip("/"), found.client_id if found else "", secret,
                         tuple(found.scopes) if found else ())


def not_configured(provider: str) -> Conflict:
    return Conflict("integration_not_configured",
                    f"this project has no app for {provider}: PUT /v1/integrations/{provider} "
                    "with its client_id and client_secret first",
                    [{"field": "provider_name", "message": "integration not configured"}])

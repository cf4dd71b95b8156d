"""Per-project provider apps ("integrations"), and where each connection reaches its provider.

A project's OAuth client is its own: a connection only ever uses the app of its own project, and
an OAuth connection of a project without one is refused (`integration_not_configured`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ferry_kit.errors import Conflict, NotFound

from .catalogue import OAUTH, Catalogue, Provider, render, template_values
from .crypto import Cipher
from .domain import Connection, problem
from .repository import Repository
from .settings import Settings


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


def provider_named(catalogue: Catalogue, name: str) -> Provider:
    """The provider of an integration route (404 when this install has none of that name)."""
    provider = catalogue.get(name)
    if provider is None:
        raise NotFound(f"no provider {name}")
    return provider


def seal_secret(cipher: Cipher, project_id: str, provider: str, secret: str) -> bytes:
    return cipher.encrypt(secret, _aad(project_id, provider))


async def endpoints(repos: Repository, c: Connection, provider: Provider, cipher: Cipher,
                    settings: Settings) -> Endpoints:
    """The connection's provider URLs and its project's app (409 when OAuth needs one)."""
    found = await repos.integration(c.project_id, c.provider_name)
    if found is None and provider.auth_type in OAUTH:
        raise not_configured(c.provider_name)
    d = provider.definition
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
    secret = (cipher.decrypt(found.client_secret, _aad(c.project_id, c.provider_name))
              if found and found.client_secret else None)
    return Endpoints(api, str(auth).rstrip("/"), found.client_id if found else "", secret,
                     tuple(found.scopes) if found else ())


def not_configured(provider: str) -> Conflict:
    return Conflict(f"this project has no app for {provider}: PUT /v1/integrations/{provider} "
                    "with its client_id and client_secret first", "integration_not_configured",
                    [problem("provider_name", "integration not configured")])

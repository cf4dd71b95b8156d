"""What the connections service does, one typed function per command.

Each runs inside a unit of work (`ferry_kit.dispatch.command`): one transaction, and the
`connection.changed` events it emits are written to the outbox on commit, with the change.
Every change of a connection bumps its version and emits `connection.changed`. The connect
flow's steps are in `connect.py`, the executor's credentials in `credentials.py`. The service
consumes no topic: `HANDLERS` is empty.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Final, TypeVar

import httpx
from ferry_contracts import uuid7
from ferry_contracts.sync import initial_job_id
from ferry_contracts.values import ConnectionStatus
from ferry_kit.clock import Clock
from ferry_kit.dispatch import EventHandler, command
from ferry_kit.errors import Conflict, Invalid, NotFound
from ferry_kit.uow import UnitOfWork

from . import domain, given, integrations
from .catalogue import OAUTH, Catalogue, Provider
from .crypto import Cipher
from .domain import Connection, ModelConfig, NewIntegration, ProjectConfig, problem
from .inputs import (
    ConnectionIn,
    ConnectionPatch,
    ConnectionSyncConfigIn,
    IntegrationIn,
    ProjectSyncConfigIn,
)
from .repository import Repository
from .settings import Settings
from .views import Context, Json

Uow = UnitOfWork[Repository]
T = TypeVar("T")

HANDLERS: Final[dict[str, EventHandler]] = {}


class Commands:
    """Runs a handler for one request in its own unit of work (the kit's `command`), its
    parameters filled by name from the service's dependencies and the request's values."""

    def __init__(self, uow: Callable[[], Uow], deps: Mapping[str, object]) -> None:
        self._uow, self._deps = uow, deps

    async def __call__(self, handler: Callable[..., Awaitable[T]], **args: object) -> T:
        return await command(handler, self._uow, {**self._deps, **args})()


async def emit_changed(
    uow: Uow, catalogue: Catalogue, c: Connection, previous: ConnectionStatus | None,
    reason: str, project: ProjectConfig | None = None, *, deleted: bool = False,
    initial_batch_id: str | None = None,
) -> None:
    """Queue `connection.changed` for the connection as it now is."""
    project = project or await uow.repos.project_config(c.project_id)
    event = domain.connection_changed(
        c, catalogue.installed(c.provider_name), project, previous, reason, deleted=deleted,
        initial_batch_id=initial_batch_id)
    uow.emit(event, project_id=c.project_id, connection_id=c.id)


async def save_and_emit(
    uow: Uow, catalogue: Catalogue, c: Connection, previous: ConnectionStatus, reason: str,
    project: ProjectConfig | None = None,
) -> Connection:
    saved = await uow.repos.save(c)
    await emit_changed(uow, catalogue, saved, previous, reason, project)
    return saved


# ---- project sync config ----

async def put_project_config(
    uow: Uow, catalogue: Catalogue, project_id: str, body: ProjectSyncConfigIn
) -> Json:
    """Store the project's sync config; every connection following it changes with it."""
    models = domain.validate_models([m.model_dump(mode="json") for m in body.data_models],
                                    catalogue.all())
    config = ProjectConfig(tuple(models), body.full_sync_interval_hours,
                           body.record_events_on_initial_sync,
                           domain.validate_origins(body.allowed_return_origins))
    await uow.repos.put_project_config(project_id, config)
    followers = await uow.repos.lock_project_followers(project_id)
    needing = 0
    for c in followers:
        await save_and_emit(uow, catalogue, c, c.status, "sync_config_changed", config)
        provider = catalogue.get(c.provider_name)
        if provider is not None and domain.missing_scopes(provider, domain.desired_config(
                provider, c.requested_data_types, None, config), c.granted_scopes):
            needing += 1
    return {**config.to_json(), "is_default": False, "connections_updated": len(followers),
            "connections_needing_reauthorization": needing}


# ---- connections ----

def _own_config(
    provider: Provider, config: ConnectionSyncConfigIn | None, types: list[str]
) -> list[ModelConfig] | None:
    if config is None:
        return None
    models = [m.model_dump(mode="json") for m in config.data_models]
    return domain.validate_models(models, [provider], prefix="sync_config.data_models",
                                  allowed=types)


def _provider_asked(catalogue: Catalogue, name: str) -> Provider:
    provider = catalogue.get(name)
    if provider is None:
        names = ", ".join(p.name for p in catalogue.all())
        raise Invalid("unknown provider", [problem(
            "provider_name", f"unknown provider {name!r}; known: {names}")])
    return provider


async def create_connection(
    uow: Uow, catalogue: Catalogue, cipher: Cipher, http: httpx.AsyncClient, clock: Clock,
    settings: Settings, context: Context, project_id: str, user_id: str, body: ConnectionIn,
) -> Json:
    """A connection for an end user (seed 004): AUTH_REQUIRED with a connect link, or
    CONNECTED at once when there is nothing for the end user to do."""
    provider = _provider_asked(catalogue, body.provider_name)
    types = domain.normalize_types(provider, body.requested_data_types)
    own = _own_config(provider, body.sync_config, types)
    config = provider.check_config(body.connection_config or {})
    secrets = given.check(provider, body.credentials)
    origins = (await uow.repos.project_config(project_id)).allowed_return_origins
    domain.check_return_url(body.return_url, origins)
    now = clock.now()
    # Nothing for an end user to do: no authorization, the app's own grant, or a given key.
    connected = provider.auth_type in domain.NOTHING_TO_AUTHORIZE or bool(secrets)
    c = Connection(
        id=f"con_{uuid7().hex}", project_id=project_id, user_id=user_id,
        provider_name=provider.name, requested_data_types=types,
        skip_permissions=body.skip_permissions, return_url=body.return_url,
        status="CONNECTED" if connected else "AUTH_REQUIRED", sync_config=own,
        granted_scopes=None, version=1, created_at=now, connected_at=now if connected else None,
        disconnected_at=None, connection_config=config)
    ends = await integrations.endpoints(uow.repos, c, provider, cipher, settings)
    if secrets:
        refused = await given.verify(http, provider, c, ends, secrets)
        if refused:
            raise Invalid(refused, [problem("credentials", refused)])
    return await _insert(uow, catalogue, cipher, context, c, provider, secrets)


async def _insert(
    uow: Uow, catalogue: Catalogue, cipher: Cipher, context: Context, c: Connection,
    provider: Provider, secrets: dict[str, str] | None,
) -> Json:
    try:
        stored = await uow.repos.insert_connection(c, provider.name if provider.unique else None)
    except domain.UniqueProviderTaken:
        raise Conflict(f"user {c.user_id} already has a connection to {provider.name}, which "
                       "allows one connection per user", "unique_provider",
                       [problem("provider_name", "unique provider")]) from None
    if secrets:
        await uow.repos.put_given_secret(c.id, given.seal(cipher, c.id, secrets))
    project = await uow.repos.project_config(c.project_id)
    batch = str(uuid7()) if stored.status == "CONNECTED" else None
    await emit_changed(uow, catalogue, stored, None, "created", project, initial_batch_id=batch)
    jobs = ([initial_job_id(batch, m) for m in domain.readable_models(stored, provider, project)]
            if batch else [])
    return {**context.connection(stored, project), "initial_sync_jobs": jobs}


async def _locked(uow: Uow, project_id: str, connection_id: str) -> Connection:
    c = await uow.repos.connection(connection_id, project_id, lock=True)
    if c is None:
        raise NotFound(f"no connection {connection_id}")
    return c


async def patch_connection(
    uow: Uow, catalogue: Catalogue, clock: Clock, context: Context, project_id: str,
    connection_id: str, body: ConnectionPatch,
) -> Json:
    """Seed 004's edits: requested types (while disconnected), own sync config, status."""
    c = await _locked(uow, project_id, connection_id)
    provider = catalogue.installed(c.provider_name)
    previous = c.status
    reasons = []
    if body.requested_data_types is not None:
        domain.check_requested_types_editable(c.status)
        c.requested_data_types = domain.normalize_types(provider, body.requested_data_types)
        reasons.append("requested_data_types_changed")
    if "sync_config" in body.model_fields_set:
        c.sync_config = _own_config(provider, body.sync_config, c.requested_data_types)
        reasons.append("sync_config_changed")
    if body.status is not None:
        await _set_status(uow, c, provider, body.status, clock)
        reasons.append("status_changed")
    project = await uow.repos.project_config(project_id)
    if not reasons:
        return context.connection(c, project)
    reason = reasons[-1] if len(reasons) == 1 else "updated"
    saved = await save_and_emit(uow, catalogue, c, previous, reason, project)
    return context.connection(saved, project)


async def _set_status(
    uow: Uow, c: Connection, provider: Provider, target: str, clock: Clock
) -> None:
    domain.check_patch_status(c.status, target)
    now = clock.now()
    if target == "DISCONNECTED":
        c.status, c.disconnected_at = "DISCONNECTED", now
        # Disconnecting revokes Ferry's access: the tokens go.
        await uow.repos.delete_credentials(c.id)
    elif provider.auth_type in domain.NOTHING_TO_AUTHORIZE:
        c.status, c.connected_at = "CONNECTED", now  # nothing to authorize: reconnect at once
    else:
        c.status = "AUTH_REQUIRED"


async def delete_connection(
    uow: Uow, catalogue: Catalogue, project_id: str, connection_id: str
) -> None:
    c = await _locked(uow, project_id, connection_id)
    # Every service drops what it holds of the connection on this event.
    await emit_changed(uow, catalogue, c, c.status, "deleted", deleted=True)
    await uow.repos.delete(connection_id)


# ---- integrations (a project's apps at providers) ----

async def put_integration(
    uow: Uow, catalogue: Catalogue, cipher: Cipher, project_id: str, name: str,
    body: IntegrationIn,
) -> Json:
    provider = integrations.provider_named(catalogue, name)
    old = await uow.repos.integration(project_id, name)
    secret = body.client_secret
    sealed = (integrations.seal_secret(cipher, project_id, name, secret) if secret
              else old.client_secret if old else None)
    client_id = body.client_id or ""
    if provider.auth_type in OAUTH and not client_id:
        raise Invalid("client_id is required", [
            problem("client_id", f"{name} uses OAuth: its app's client id")])
    app = NewIntegration(project_id, name, client_id, sealed, list(body.scopes),
                         body.api_base_url, body.auth_base_url)
    return (await uow.repos.put_integration(app)).to_json()


async def delete_integration(uow: Uow, catalogue: Catalogue, project_id: str, name: str) -> None:
    integrations.provider_named(catalogue, name)
    if not await uow.repos.delete_integration(project_id, name):
        raise NotFound(f"no integration for {name} in this project")


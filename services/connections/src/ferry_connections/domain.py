"""The rules of connections, with no I/O: seed 004's state machine, sync config validation and
resolution, the scopes a config needs, and the service's own records."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Final, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ferry_contracts import ConnectionChanged, ModelSyncConfig
from ferry_contracts.values import (
    ACCESS_LEVELS,
    FREQUENCIES,
    READABLE,
    Access,
    ConnectionStatus,
    Frequency,
)
from ferry_kit.errors import Conflict, Detail, Invalid

if TYPE_CHECKING:
    from .catalogue import Provider

__all__ = ["Conflict", "Invalid"]  # the kit's errors, raised by the rules below

# Seed 004: what a customer may set through PATCH, and from which statuses.
PATCH_ALLOWED_FROM: Final[dict[str, tuple[ConnectionStatus, ...]]] = {
    "DISCONNECTED": ("CONNECTED", "AUTH_ERROR"),
    "AUTH_REQUIRED": ("DISCONNECTED", "AUTH_ERROR"),
}
REQUESTED_TYPES_EDITABLE_IN: Final[tuple[ConnectionStatus, ...]] = ("DISCONNECTED", "AUTH_ERROR")
# The connect page starts an authorization from these statuses (CONNECTED: to grant more scopes).
CONNECTABLE: Final[tuple[ConnectionStatus, ...]] = (
    "AUTH_REQUIRED", "CONNECTING", "AUTH_ERROR", "CONNECTED"
)
# Credentials typed into the connect page are taken in these statuses.
GIVABLE: Final[tuple[ConnectionStatus, ...]] = ("AUTH_REQUIRED", "CONNECTING", "AUTH_ERROR")
# Auth styles with nothing for an end user to authorize.
NOTHING_TO_AUTHORIZE: Final[tuple[str, ...]] = ("none", "oauth2_client_credentials")


class StatusDetail(Detail):
    """A detail naming the connection's current status (409s of the state machine)."""

    current_status: str


def status_detail(at: str, message: str, current: str) -> StatusDetail:
    return {"field": at, "message": message, "current_status": current}


def problem(at: str, message: str) -> Detail:
    """A field at fault, as this service has always written it (no `type`)."""
    return {"field": at, "message": message}


def check_patch_status(current: str, target: str) -> None:
    allowed = PATCH_ALLOWED_FROM.get(target)
    if allowed is None:
        raise Invalid(f"status can be set to DISCONNECTED or AUTH_REQUIRED, not {target}",
                      [problem("status", "must be DISCONNECTED or AUTH_REQUIRED")])
    if current not in allowed:
        raise Conflict(
            f"status {target} can be set only from {' or '.join(allowed)}; "
            f"the connection is {current}", "invalid_transition",
            [status_detail("status", f"current status is {current}", current)],
        )


def check_requested_types_editable(current: str) -> None:
    if current not in REQUESTED_TYPES_EDITABLE_IN:
        raise Conflict(
            "requested_data_types can be changed only while DISCONNECTED or AUTH_ERROR; "
            f"the connection is {current}", "invalid_transition",
            [status_detail("requested_data_types", f"current status is {current}", current)],
        )


def normalize_types(
    provider: Provider, types: Sequence[str], field_name: str = "requested_data_types"
) -> list[str]:
    """Upper-cased, de-duplicated, in the given order; 422 for models the provider lacks."""
    out: list[str] = []
    details: list[Detail] = []
    for i, name in enumerate(types):
        model = provider.model(name)
        if model is None:
            details.append(problem(f"{field_name}[{i}]",
                                   f"{provider.name} has no data model {name.upper()}"))
        elif model.name not in out:
            out.append(model.name)
    if details:
        raise Invalid("unsupported data types", details)
    if not out:
        raise Invalid("at least one data type is required", [problem(field_name, "empty")])
    return out


@dataclass(frozen=True)
class ModelConfig:
    data_model: str
    frequency: Frequency = "DAILY"
    interval_minutes: int | None = None
    access: Access = "READ"
    sync_from: date | None = None

    def to_json(self, with_sync_from: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {"data_model": self.data_model, "frequency": self.frequency,
                               "access": self.access}
        if self.interval_minutes is not None:
            out["interval_minutes"] = self.interval_minutes
        if with_sync_from:
            out["sync_from"] = self.sync_from.isoformat() if self.sync_from else None
        return out

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> ModelConfig:
        sync_from = doc.get("sync_from")
        return cls(
            data_model=doc["data_model"], frequency=doc.get("frequency", "DAILY"),
            interval_minutes=doc.get("interval_minutes"), access=doc.get("access", "READ"),
            sync_from=date.fromisoformat(sync_from) if isinstance(sync_from, str) else sync_from,
        )


@dataclass(frozen=True)
class ProjectConfig:
    data_models: tuple[ModelConfig, ...] = ()
    full_sync_interval_hours: int = 24
    record_events_on_initial_sync: bool = False
    allowed_return_origins: tuple[str, ...] = ()  # empty: any

    def to_json(self) -> dict[str, Any]:
        return {"data_models": [m.to_json(with_sync_from=False) for m in self.data_models],
                "full_sync_interval_hours": self.full_sync_interval_hours,
                "record_events_on_initial_sync": self.record_events_on_initial_sync,
                "allowed_return_origins": list(self.allowed_return_origins)}


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of an http(s) URL (lower case, default port dropped); None when
    it is not one, or holds whitespace or control characters (header and log injection)."""
    if any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    default = {"http": 80, "https": 443}[parts.scheme.lower()]
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme.lower()}://{host}" + (f":{port}" if port not in (None, default) else "")


def check_return_url(url: str | None, allowed_origins: Sequence[str]) -> None:
    if url is None:
        return
    found = origin_of(url)
    if found is None:
        raise Invalid("invalid return_url", [problem(
            "return_url",
            "must be an http(s) URL with a host, without spaces or control characters")])
    if allowed_origins and found not in allowed_origins:
        raise Invalid("return_url is not allowed", [problem(
            "return_url", f"origin {found} is not among the project's allowed_return_origins")])


def validate_origins(origins: Sequence[str]) -> tuple[str, ...]:
    """The project's allowed return origins, normalised; 422 for anything but a bare origin."""
    details = [problem(f"allowed_return_origins[{i}]",
                       "must be an http(s) origin such as https://app.example.com")
               for i, o in enumerate(origins) if origin_of(o) is None or origin_of(o) != o.lower()]
    if details:
        raise Invalid("invalid allowed_return_origins", details)
    return tuple(dict.fromkeys(o.lower() for o in origins))


def validate_models(
    models: Sequence[Mapping[str, Any]],
    providers: Sequence[Provider],
    *,
    prefix: str = "data_models",
    allowed: Iterable[str] | None = None,
) -> list[ModelConfig]:
    """Check a sync config's models against the providers that could use it.

    A project config is checked against every provider (a model must exist at one of them; a
    CUSTOM interval must not be below the smallest minimum of those that have it); a
    connection's against its own provider. `allowed` restricts the models (requested types).
    """
    details: list[Detail] = []
    out: list[ModelConfig] = []
    seen: set[str] = set()
    allowed_set = {a.upper() for a in allowed} if allowed is not None else None
    for i, m in enumerate(models):
        at = f"{prefix}[{i}]"
        name = str(m.get("data_model", "")).upper()
        having = [p for p in providers if p.model(name) is not None]
        if not having:
            known = sorted({dm.name for p in providers for dm in p.data_models})
            details.append(problem(f"{at}.data_model",
                                   f"unknown data model {name}; known: {', '.join(known)}"))
            continue
        if allowed_set is not None and name not in allowed_set:
            details.append(problem(
                f"{at}.data_model", f"{name} is not among the connection's requested_data_types"))
        if name in seen:
            details.append(problem(f"{at}.data_model", f"{name} is listed twice"))
        seen.add(name)
        model, found = _model_config(at, name, m, having)
        details += found
        out.append(model)
    if details:
        raise Invalid("invalid sync config: " + ", ".join(d["field"] for d in details), details)
    return out


def _model_config(
    at: str, name: str, m: Mapping[str, Any], having: Sequence[Provider]
) -> tuple[ModelConfig, list[Detail]]:
    """One model's entry of a sync config, and what is wrong with it."""
    details: list[Detail] = []
    frequency = m.get("frequency") or "DAILY"
    interval = m.get("interval_minutes")
    if frequency not in FREQUENCIES:
        details.append(problem(f"{at}.frequency", f"must be one of {', '.join(FREQUENCIES)}"))
    access = m.get("access") or "READ"
    if access not in ACCESS_LEVELS:
        details.append(problem(f"{at}.access", f"must be one of {', '.join(ACCESS_LEVELS)}"))
    details += _interval_problems(at, frequency, interval, having)
    if access in ("WRITE", "READ_WRITE") and not any(
            _supports_write(p, name) for p in having):
        details.append(problem(f"{at}.access", f"{name} does not support writing"))
    sync_from = m.get("sync_from")
    if isinstance(sync_from, str):
        try:
            sync_from = date.fromisoformat(sync_from)
        except ValueError:
            details.append(problem(f"{at}.sync_from", "must be a date (YYYY-MM-DD)"))
            sync_from = None
    model = ModelConfig(name, cast(Frequency, frequency),
                        interval if frequency == "CUSTOM" else None, cast(Access, access),
                        sync_from)
    return model, details


def _supports_write(provider: Provider, name: str) -> bool:
    model = provider.model(name)
    return model is not None and model.supports_write


def _interval_problems(
    at: str, frequency: str, interval: object, having: Sequence[Provider]
) -> list[Detail]:
    where = f"{at}.interval_minutes"
    if frequency != "CUSTOM":
        if interval is None:
            return []
        return [problem(where, "interval_minutes is only used with frequency CUSTOM")]
    minimum = min(p.min_sync_interval_minutes for p in having)
    if interval is None:
        return [problem(where, "interval_minutes is required with frequency CUSTOM")]
    if not isinstance(interval, int) or interval < minimum:
        return [problem(
            where, f"must be at least {minimum} (the provider's min_sync_interval_minutes)")]
    return []


def _narrow(access: Access, granted: set[str], model_read: set[str],
            model_write: set[str]) -> Access:
    """The part of `access` the granted scopes cover."""
    can_read = access in READABLE and model_read <= granted
    can_write = access in ("WRITE", "READ_WRITE") and model_write <= granted
    narrowed: dict[tuple[bool, bool], Access] = {
        (True, True): "READ_WRITE", (True, False): "READ", (False, True): "WRITE"}
    return narrowed.get((can_read, can_write), "DISABLED")


def desired_config(
    provider: Provider,
    requested: Sequence[str],
    own: Sequence[ModelConfig] | None,
    project: ProjectConfig,
) -> list[ModelConfig]:
    """What the customer asked for this connection, before looking at granted scopes.

    The connection's own config replaces the project's (models it does not list do not sync).
    Otherwise each requested model takes the project's entry for it, and a requested model the
    project does not mention syncs DAILY with READ access (also when the project has no config).
    DISABLED models are left out. Intervals below the provider's minimum are raised to it.
    """
    wanted = {r.upper() for r in requested}
    if own is not None:
        chosen = [m for m in own if m.data_model in wanted]
    else:
        by_name = {m.data_model: m for m in project.data_models}
        chosen = [by_name.get(name, ModelConfig(name)) for name in requested]
    out = []
    for m in chosen:
        if m.access == "DISABLED" or provider.model(m.data_model) is None:
            continue
        if m.frequency == "CUSTOM" and m.interval_minutes is not None:
            least = max(m.interval_minutes, provider.min_sync_interval_minutes)
            m = ModelConfig(m.data_model, m.frequency, least, m.access, m.sync_from)
        out.append(m)
    return out


def required_scopes(provider: Provider, config: Sequence[ModelConfig]) -> list[str]:
    return provider.scopes_for({m.data_model: m.access for m in config})


def missing_scopes(
    provider: Provider, config: Sequence[ModelConfig], granted: Sequence[str] | None
) -> list[str]:
    """Scopes the config needs that the provider has not granted (none before any grant)."""
    if granted is None or provider.auth_type != "oauth2":
        return []
    return sorted(set(required_scopes(provider, config)) - set(granted))


def effective_config(
    provider: Provider, config: Sequence[ModelConfig], granted: Sequence[str] | None
) -> list[ModelConfig]:
    """The desired config narrowed to what the grant allows: until the end user re-authorizes,
    a model whose new access needs scopes not granted keeps syncing at the level it was granted."""
    if granted is None or provider.auth_type != "oauth2":
        return list(config)
    have = set(granted)
    out = []
    for m in config:
        model = provider.model(m.data_model)
        if model is None:
            continue
        access = _narrow(m.access, have, set(model.read_scopes), set(model.write_scopes))
        if access != "DISABLED":
            out.append(ModelConfig(m.data_model, m.frequency, m.interval_minutes, access,
                                   m.sync_from))
    return out


def to_contract(config: Sequence[ModelConfig]) -> list[ModelSyncConfig]:
    return [ModelSyncConfig(data_model=m.data_model, frequency=m.frequency,
                            interval_minutes=m.interval_minutes, access=m.access,
                            sync_from=m.sync_from) for m in config]


def with_query(url: str, **params: str) -> str:
    """`url` with params appended (keeping its own query)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def expires_soon(expires_at: datetime | None, now: datetime, margin_seconds: float) -> bool:
    return expires_at is not None and (expires_at - now).total_seconds() <= margin_seconds


def recently(at: datetime | None, now: datetime, window_seconds: float) -> bool:
    return at is not None and (now - at).total_seconds() < window_seconds


@dataclass
class Connection:
    id: str
    project_id: str
    user_id: str
    provider_name: str
    requested_data_types: list[str]
    skip_permissions: bool
    return_url: str | None
    status: ConnectionStatus
    sync_config: list[ModelConfig] | None
    granted_scopes: list[str] | None
    version: int
    created_at: datetime
    connected_at: datetime | None
    disconnected_at: datetime | None
    # Declared by the provider (subdomain, region...): given at creation or captured in auth.
    connection_config: dict[str, Any] = field(default_factory=dict)


def resolved(c: Connection, provider: Provider, project: ProjectConfig) -> list[ModelConfig]:
    """The config a connection syncs with: what is asked, narrowed to what was granted."""
    desired = desired_config(provider, c.requested_data_types, c.sync_config, project)
    return effective_config(provider, desired, c.granted_scopes)


def readable_models(c: Connection, provider: Provider, project: ProjectConfig) -> list[str]:
    """The models an initial sync of the connection pulls."""
    return [m.data_model for m in resolved(c, provider, project) if m.access in READABLE]


def connection_changed(
    c: Connection, provider: Provider, project: ProjectConfig, previous: ConnectionStatus | None,
    reason: str, *, deleted: bool = False, initial_batch_id: str | None = None,
) -> ConnectionChanged:
    """The `connection.changed` event telling every service what the connection now is."""
    return ConnectionChanged(
        connection_id=c.id, user_id=c.user_id, provider_name=c.provider_name,
        status="DELETED" if deleted else c.status, previous_status=previous, reason=reason,
        connected_at=c.connected_at, disconnected_at=c.disconnected_at,
        sync_config=to_contract(resolved(c, provider, project)),
        full_sync_interval_hours=project.full_sync_interval_hours,
        requested_data_types=[t.upper() for t in c.requested_data_types],
        granted_scopes=c.granted_scopes or [],
        initial_sync_record_events=project.record_events_on_initial_sync,
        initial_batch_id=initial_batch_id,
        version=c.version + 1 if deleted else c.version,
    )


@dataclass(frozen=True)
class NewIntegration:
    """A project's own app at a provider, to store; `client_secret` stays encrypted here."""

    project_id: str
    provider: str
    client_id: str
    client_secret: bytes | None
    scopes: list[str]
    api_base_url: str | None
    auth_base_url: str | None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.project_id!r}, {self.provider!r})"


@dataclass(frozen=True, repr=False)
class Integration(NewIntegration):
    """A project's app as stored."""

    created_at: datetime
    updated_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {"provider": self.provider, "client_id": self.client_id or None,
                "scopes": self.scopes, "api_base_url": self.api_base_url,
                "auth_base_url": self.auth_base_url, "created_at": self.created_at.isoformat(),
                "updated_at": self.updated_at.isoformat()}


@dataclass(frozen=True)
class NewToken:
    """A connection's OAuth tokens (encrypted), with when they were fetched."""

    access_token: bytes
    refresh_token: bytes | None
    expires_at: datetime | None
    scopes: list[str]
    refreshed_at: datetime | None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(expires_at={self.expires_at!r})"


@dataclass(frozen=True, repr=False)
class Token(NewToken):
    """The tokens as stored."""

    connection_id: str
    updated_at: datetime


@dataclass(frozen=True)
class ConnectSession:
    """An authorization in flight, as the callback takes it."""

    connection_id: str
    code_verifier: bytes
    scopes: list[str]
    resume_status: ConnectionStatus
    expires_at: datetime


@dataclass(frozen=True)
class NewConnectSession(ConnectSession):
    """An authorization to record: its `state` and the browser's nonce, both hashed."""

    state_hash: bytes
    browser_hash: bytes


@dataclass(frozen=True)
class StatusChange:
    status: str
    previous_status: str | None
    changed_at: datetime


class UniqueProviderTaken(Exception):
    """The user already has a connection to a provider that allows one per user."""


# ---- the connect flow: what the end user's pages show ----

class LinkInvalid(Exception):
    """The connect link or the callback is not (or no longer) good; shown as an HTML page."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message, self.status = message, status


class CredentialsRefused(Exception):
    """The key or password typed into the page did not pass: the page is shown again, saying
    why."""


@dataclass(frozen=True)
class Outcome:
    """Where the browser goes next: a URL, or (no return_url) a result page."""

    url: str | None
    status: str  # success | abort | pending
    connection_id: str
    message: str = ""
    # Set when an authorization starts: the cookie (name, nonce) that binds it to this browser.
    cookie: tuple[str, str] | None = None


def finish(c: Connection, status: str, **extra: str) -> Outcome:
    """Back to the customer's `return_url` (or a result page) with how the connect ended."""
    if c.return_url:
        url = with_query(c.return_url, status=status, connection_id=c.id, **extra)
        return Outcome(url, status, c.id)
    return Outcome(None, status, c.id, extra.get("error", ""))


@dataclass(frozen=True)
class PageView:
    connection: Connection
    provider_display_name: str
    models: list[ModelConfig]
    connectable: bool
    notice: str
    fields: list[dict[str, str]]


NOTICES: Final[dict[str, str]] = {
    "DISCONNECTED": "This connection was disconnected by the app. Ask it to reconnect you.",
    "CONNECTED": "This account is already connected.",
    "AUTH_ERROR": "The connection lost its authorization. Connect again to restore it.",
}
MORE_ACCESS = "The app now asks for more access. Connect again to grant it."

"""The rules of connections, with no I/O: seed 004's state machine, sync config validation and
resolution, and the scopes a config needs."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from ferry_connectors.sdk import Provider
from ferry_contracts import ModelSyncConfig

STATUSES = ("AUTH_REQUIRED", "CONNECTING", "CONNECTED", "AUTH_ERROR", "DISCONNECTED")
FREQUENCIES = ("HOURLY", "DAILY", "WEEKLY", "MONTHLY", "CUSTOM")
ACCESS = ("DISABLED", "READ", "WRITE", "READ_WRITE")

# Seed 004: what a customer may set through PATCH, and from which statuses.
PATCH_ALLOWED_FROM = {
    "DISCONNECTED": ("CONNECTED", "AUTH_ERROR"),
    "AUTH_REQUIRED": ("DISCONNECTED", "AUTH_ERROR"),
}
REQUESTED_TYPES_EDITABLE_IN = ("DISCONNECTED", "AUTH_ERROR")
# The connect page starts an authorization from these statuses (CONNECTED: to grant more scopes).
CONNECTABLE = ("AUTH_REQUIRED", "CONNECTING", "AUTH_ERROR", "CONNECTED")


class Conflict(Exception):
    """409: the request does not fit the connection's current state."""

    def __init__(self, code: str, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.details = code, message, details or []


class Invalid(Exception):
    """422 with the fields at fault."""

    def __init__(self, message: str, details: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.message, self.details = message, details


def check_patch_status(current: str, target: str) -> None:
    allowed = PATCH_ALLOWED_FROM.get(target)
    if allowed is None:
        raise Invalid(f"status can be set to DISCONNECTED or AUTH_REQUIRED, not {target}",
                      [{"field": "status", "message": "must be DISCONNECTED or AUTH_REQUIRED"}])
    if current not in allowed:
        raise Conflict(
            "invalid_transition",
            f"status {target} can be set only from {' or '.join(allowed)}; the connection is {current}",
            [{"field": "status", "message": f"current status is {current}", "current_status": current}],
        )


def check_requested_types_editable(current: str) -> None:
    if current not in REQUESTED_TYPES_EDITABLE_IN:
        raise Conflict(
            "invalid_transition",
            f"requested_data_types can be changed only while DISCONNECTED or AUTH_ERROR; the connection is {current}",
            [{"field": "requested_data_types", "message": f"current status is {current}", "current_status": current}],
        )


def normalize_types(provider: Provider, types: Sequence[str], field_name: str = "requested_data_types") -> list[str]:
    """Upper-cased, de-duplicated, in the given order; 422 for models the provider lacks."""
    out: list[str] = []
    details = []
    for i, name in enumerate(types):
        model = provider.model(name)
        if model is None:
            details.append({"field": f"{field_name}[{i}]",
                            "message": f"{provider.name} has no data model {name.upper()}"})
        elif model.name not in out:
            out.append(model.name)
    if details:
        raise Invalid("unsupported data types", details)
    if not out:
        raise Invalid("at least one data type is required", [{"field": field_name, "message": "empty"}])
    return out


@dataclass(frozen=True)
class ModelConfig:
    data_model: str
    frequency: str = "DAILY"
    interval_minutes: int | None = None
    access: str = "READ"
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
    def from_json(cls, doc: dict[str, Any]) -> ModelConfig:
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
        raise Invalid("invalid return_url", [{"field": "return_url", "message":
                      "must be an http(s) URL with a host, without spaces or control characters"}])
    if allowed_origins and found not in allowed_origins:
        raise Invalid("return_url is not allowed", [{"field": "return_url", "message":
                      f"origin {found} is not among the project's allowed_return_origins"}])


def validate_origins(origins: Sequence[str]) -> tuple[str, ...]:
    """The project's allowed return origins, normalised; 422 for anything but a bare origin."""
    details = [{"field": f"allowed_return_origins[{i}]",
                "message": "must be an http(s) origin such as https://app.example.com"}
               for i, o in enumerate(origins) if origin_of(o) is None or origin_of(o) != o.lower()]
    if details:
        raise Invalid("invalid allowed_return_origins", details)
    return tuple(dict.fromkeys(o.lower() for o in origins))


def validate_models(
    models: Sequence[dict[str, Any]],
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
    details: list[dict[str, Any]] = []
    out: list[ModelConfig] = []
    seen: set[str] = set()
    allowed_set = {a.upper() for a in allowed} if allowed is not None else None
    for i, m in enumerate(models):
        at = f"{prefix}[{i}]"
        name = str(m.get("data_model", "")).upper()
        having = [p for p in providers if p.model(name) is not None]
        if not having:
            known = sorted({dm.name for p in providers for dm in p.data_models})
            details.append({"field": f"{at}.data_model",
                            "message": f"unknown data model {name}; known: {', '.join(known)}"})
            continue
        if allowed_set is not None and name not in allowed_set:
            details.append({"field": f"{at}.data_model",
                            "message": f"{name} is not among the connection's requested_data_types"})
        if name in seen:
            details.append({"field": f"{at}.data_model", "message": f"{name} is listed twice"})
        seen.add(name)
        frequency = m.get("frequency") or "DAILY"
        interval = m.get("interval_minutes")
        if frequency not in FREQUENCIES:
            details.append({"field": f"{at}.frequency", "message": f"must be one of {', '.join(FREQUENCIES)}"})
        access = m.get("access") or "READ"
        if access not in ACCESS:
            details.append({"field": f"{at}.access", "message": f"must be one of {', '.join(ACCESS)}"})
        if frequency == "CUSTOM":
            minimum = min(p.min_sync_interval_minutes for p in having)
            if interval is None:
                details.append({"field": f"{at}.interval_minutes",
                                "message": "interval_minutes is required with frequency CUSTOM"})
            elif not isinstance(interval, int) or interval < minimum:
                details.append({"field": f"{at}.interval_minutes",
                                "message": f"must be at least {minimum} (the provider's min_sync_interval_minutes)"})
        elif interval is not None:
            details.append({"field": f"{at}.interval_minutes",
                            "message": "interval_minutes is only used with frequency CUSTOM"})
        if access in ("WRITE", "READ_WRITE") and not any(p.model(name).supports_write for p in having):  # type: ignore[union-attr]
            details.append({"field": f"{at}.access", "message": f"{name} does not support writing"})
        sync_from = m.get("sync_from")
        if isinstance(sync_from, str):
            try:
                sync_from = date.fromisoformat(sync_from)
            except ValueError:
                details.append({"field": f"{at}.sync_from", "message": "must be a date (YYYY-MM-DD)"})
                sync_from = None
        out.append(ModelConfig(name, frequency, interval if frequency == "CUSTOM" else None, access, sync_from))
    if details:
        raise Invalid("invalid sync config: " + ", ".join(d["field"] for d in details), details)
    return out


def _narrow(access: str, granted: set[str], model_read: set[str], model_write: set[str]) -> str:
    """The part of `access` the granted scopes cover."""
    can_read = access in ("READ", "READ_WRITE") and model_read <= granted
    can_write = access in ("WRITE", "READ_WRITE") and model_write <= granted
    return {(True, True): "READ_WRITE", (True, False): "READ", (False, True): "WRITE"}.get(
        (can_read, can_write), "DISABLED")


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
            m = ModelConfig(m.data_model, m.frequency, max(m.interval_minutes, provider.min_sync_interval_minutes),
                            m.access, m.sync_from)
        out.append(m)
    return out


def required_scopes(provider: Provider, config: Sequence[ModelConfig]) -> list[str]:
    return provider.scopes_for({m.data_model: m.access for m in config})  # type: ignore[misc]


def missing_scopes(provider: Provider, config: Sequence[ModelConfig], granted: Sequence[str] | None) -> list[str]:
    """Scopes the config needs that the provider has not granted (none before any grant)."""
    if granted is None or provider.auth_type != "oauth2":
        return []
    return sorted(set(required_scopes(provider, config)) - set(granted))


def effective_config(provider: Provider, config: Sequence[ModelConfig], granted: Sequence[str] | None) -> list[ModelConfig]:
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
            out.append(ModelConfig(m.data_model, m.frequency, m.interval_minutes, access, m.sync_from))
    return out


def to_contract(config: Sequence[ModelConfig]) -> list[ModelSyncConfig]:
    return [ModelSyncConfig(data_model=m.data_model, frequency=m.frequency, interval_minutes=m.interval_minutes,  # type: ignore[arg-type]
                            access=m.access, sync_from=m.sync_from) for m in config]  # type: ignore[arg-type]


def with_query(url: str, **params: str) -> str:
    """`url` with params appended (keeping its own query)."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

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
    status: str
    sync_config: list[ModelConfig] | None
    granted_scopes: list[str] | None
    version: int
    created_at: datetime
    connected_at: datetime | None
    disconnected_at: datetime | None

"""The connector SDK: a provider and its data models are declared, not coded.

A connector is a `Provider` value: its auth type, its data models (path, id and
incremental fields, the scopes each access level needs) and its pagination. Python hooks
(`transform`) cover what a declaration cannot. `ConnectorClient` turns a declaration into HTTP
calls and maps the provider's failures onto the few errors the executor acts on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import httpx

AuthType = Literal["oauth2", "none", "api_key"]
Access = Literal["DISABLED", "READ", "WRITE", "READ_WRITE"]


class ConnectorError(Exception):
    """Base of what a connector call can raise; `message` is fit to show a customer."""

    retryable = False

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class RateLimited(ConnectorError):
    retryable = True

    def __init__(self, message: str, *, retry_after: float, status: int | None = 429) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class AuthExpired(ConnectorError):
    """401: the access token is no longer accepted."""


class AccessDenied(ConnectorError):
    """403: the token lacks the scope for this model."""


class ProviderUnavailable(ConnectorError):
    """5xx, timeouts, connection errors: try again later."""

    retryable = True


class ProviderError(ConnectorError):
    """Any other 4xx: the request itself is wrong; retrying will not help."""


@dataclass(frozen=True)
class CursorPagination:
    """`?cursor=<opaque>` in, `next_cursor` out (null on the last page)."""

    cursor_param: str = "cursor"
    limit_param: str = "limit"
    results_field: str = "results"
    next_field: str = "next_cursor"
    page_size: int = 1000


@dataclass(frozen=True)
class DataModel:
    name: str  # upper case: CONTACTS
    path: str  # /api/contacts
    read_scopes: tuple[str, ...] = ()
    write_scopes: tuple[str, ...] = ()
    id_field: str = "id"
    updated_field: str = "updated_at"
    incremental_param: str | None = "updated_since"
    supports_write: bool = True
    transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None

    @property
    def supports_incremental(self) -> bool:
        return self.incremental_param is not None

    def scopes(self, access: Access) -> list[str]:
        out: list[str] = []
        if access in ("READ", "READ_WRITE"):
            out += self.read_scopes
        if access in ("WRITE", "READ_WRITE"):
            out += self.write_scopes
        return out


@dataclass(frozen=True)
class Provider:
    name: str
    display_name: str
    auth_type: AuthType
    data_models: tuple[DataModel, ...]
    unique: bool = False
    min_sync_interval_minutes: int = 5
    pagination: CursorPagination = field(default_factory=CursorPagination)
    # Which `ferry_kit` setting holds the provider's base URL (the sandbox's is per install).
    base_url_setting: str | None = None
    default_base_url: str | None = None
    authorize_path: str = "/oauth/authorize"
    token_path: str = "/oauth/token"
    # Providers without auth: the token Ferry sends is this template, formatted with the ids.
    static_token: str | None = None

    def model(self, name: str) -> DataModel | None:
        wanted = name.upper()
        return next((m for m in self.data_models if m.name == wanted), None)

    def scopes_for(self, access: Mapping[str, Access]) -> list[str]:
        """The union of scopes the given models' access levels need, sorted."""
        scopes: set[str] = set()
        for model_name, level in access.items():
            model = self.model(model_name)
            if model is not None:
                scopes.update(model.scopes(level))
        return sorted(scopes)

    def base_url(self, settings: Any = None) -> str:
        if self.base_url_setting and settings is not None:
            value = getattr(settings, self.base_url_setting, None)
            if value:
                return str(value).rstrip("/")
        if self.default_base_url:
            return self.default_base_url.rstrip("/")
        raise ValueError(f"provider {self.name} has no base URL configured")

    def catalogue_entry(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "display_name": self.display_name,
            "auth_type": self.auth_type,
            "unique": self.unique,
            "min_sync_interval_minutes": self.min_sync_interval_minutes,
            "data_models": [
                {
                    "name": m.name,
                    "scopes": {"READ": list(m.read_scopes), "WRITE": list(m.write_scopes)},
                    "supports_incremental": m.supports_incremental,
                    "supports_write": m.supports_write,
                }
                for m in self.data_models
            ],
        }


@dataclass(frozen=True)
class Page:
    records: list[dict[str, Any]]
    next_state: dict[str, Any] | None  # None: that was the last page


# A provider's Retry-After beyond a day is not believed (and 1e308 or inf must not overflow).
MAX_RETRY_AFTER_SECONDS = 86_400.0


def bounded_seconds(value: Any, *, maximum: float, default: float | None) -> float | None:
    """A provider-given number of seconds, clamped to [0, maximum] (inf and 1e308 included);
    `default` when it is not a number (nan, text, bool). Never raises."""
    if isinstance(value, bool):
        return default
    try:
        seconds = float(value)
    except OverflowError:  # an int past float's range
        seconds = math.inf if value > 0 else -math.inf
    except (TypeError, ValueError):
        return default
    if math.isnan(seconds):
        return default
    return min(max(seconds, 0.0), maximum)


def _retry_after(response: httpx.Response, default: float = 1.0) -> float:
    value = response.headers.get("retry-after", "").strip()
    seconds = bounded_seconds(value, maximum=MAX_RETRY_AFTER_SECONDS, default=None)
    if seconds is None and value:  # not a number of seconds: an HTTP date
        try:
            when = parsedate_to_datetime(value)
            seconds = bounded_seconds((when - datetime.now(when.tzinfo)).total_seconds(),
                                      maximum=MAX_RETRY_AFTER_SECONDS, default=None)
        except (TypeError, ValueError, OverflowError):
            pass
    return default if seconds is None else seconds


def _raise_for(response: httpx.Response, what: str) -> None:
    status = response.status_code
    if status < 400:
        return
    excerpt = response.text[:200]
    if status == 429:
        raise RateLimited(f"{what}: rate limited by the provider", retry_after=_retry_after(response))
    if status == 401:
        raise AuthExpired(f"{what}: the provider rejected the access token (401)", status=status)
    if status == 403:
        raise AccessDenied(f"{what}: the connection lacks the permission for this (403): {excerpt}", status=status)
    if status >= 500:
        raise ProviderUnavailable(f"{what}: the provider answered {status}", status=status)
    raise ProviderError(f"{what}: the provider answered {status}: {excerpt}", status=status)


class ConnectorClient:
    """Calls one provider for one connection. The caller owns `http` (pooled, with timeouts)."""

    def __init__(self, provider: Provider, base_url: str, access_token: str, http: httpx.AsyncClient) -> None:
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.http = http
        self._headers = {"authorization": f"Bearer {access_token}", "accept": "application/json"}

    def _model(self, name: str) -> DataModel:
        model = self.provider.model(name)
        if model is None:
            raise ProviderError(f"{self.provider.name} has no data model {name}")
        return model

    async def _call(self, method: str, url: str, what: str, **kw: Any) -> httpx.Response:
        try:
            response = await self.http.request(method, url, headers=self._headers, **kw)
        except (httpx.TimeoutException, httpx.TransportError) as e:
            raise ProviderUnavailable(f"{what}: {type(e).__name__} reaching the provider") from e
        _raise_for(response, what)
        return response

    async def fetch_page(
        self,
        model_name: str,
        state: Mapping[str, Any] | None,
        *,
        updated_since: datetime | None = None,
        limit: int | None = None,
    ) -> Page:
        """One page; `state` is the previous page's `next_state` (None/{} for the first)."""
        model = self._model(model_name)
        pg = self.provider.pagination
        params: dict[str, Any] = {pg.limit_param: limit or pg.page_size}
        if state and state.get("cursor"):
            params[pg.cursor_param] = state["cursor"]
        if updated_since is not None and model.incremental_param:
            params[model.incremental_param] = updated_since.isoformat()
        response = await self._call("GET", self.base_url + model.path, f"GET {model.path}", params=params)
        try:
            body = response.json()
            rows = body[pg.results_field]
        except (ValueError, KeyError, TypeError) as e:
            raise ProviderError(f"GET {model.path}: unexpected response shape") from e
        if model.transform is not None:
            rows = [model.transform(r) for r in rows]
        nxt = body.get(pg.next_field)
        return Page(records=rows, next_state={"cursor": nxt} if nxt else None)

    async def create_record(self, model_name: str, data: Mapping[str, Any]) -> dict[str, Any]:
        model = self._model(model_name)
        response = await self._call("POST", self.base_url + model.path, f"POST {model.path}", json=dict(data))
        return response.json()

    async def update_record(self, model_name: str, record_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
        model = self._model(model_name)
        path = f"{model.path}/{record_id}"
        response = await self._call("PATCH", self.base_url + path, f"PATCH {model.path}/…", json=dict(data))
        return response.json()

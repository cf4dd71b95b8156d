"""A connector definition turned into HTTP calls for one connection.

The client renders the model's request, adds the connection's auth headers and query
parameters (given by the connections service, already rendered), follows the paging style,
splits tombstones from records, and maps the provider's failures onto `errors`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson

from . import paging
from .definition import Definition, EndpointDeletion, Model, Request, TombstoneDeletion
from .errors import ProviderError, ProviderUnavailable, exhausted_wait, raise_for
from .hooks import Hook, HttpRequest, NoHook
from .template import (
    TemplateError,
    form_fields,
    format_time,
    get_path,
    parse_time,
    render,
    render_value,
)

# A deletion listing is cut short past this many pages: a runaway cursor must not hold a job.
MAX_DELETION_PAGES = 1000


@dataclass(frozen=True)
class Page:
    records: list[dict[str, Any]]
    next_state: dict[str, Any] | None  # None: that was the last page
    ids: list[str] = field(default_factory=list)  # the id of each record, in order
    deleted_ids: list[str] = field(default_factory=list)  # tombstones met on this page
    pause: float | None = None  # the provider's declared budget is spent for this long


def record_id(model: Model, record: Mapping[str, Any]) -> str | None:
    """The id at the model's path, or its paths joined with ':' (composite ids)."""
    if isinstance(model.id, str):  # the common case, once per record of every page
        value = get_path(record, model.id)
        return None if value is None else str(value)
    parts = [get_path(record, p) for p in model.id]
    if any(v is None for v in parts):
        return None
    return ":".join(str(v) for v in parts)


class ConnectorClient:
    """Calls one provider for one connection. The caller owns `http` (pooled, with timeouts)."""

    def __init__(self, definition: Definition, http: httpx.AsyncClient, *, base_url: str,
                 headers: Mapping[str, str] | None = None, params: Mapping[str, str] | None = None,
                 connection_config: Mapping[str, Any] | None = None,
                 hook: Hook | None = None) -> None:
        self.definition = definition
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.headers = {"accept": "application/json", **(headers or {})}
        self.params = dict(params or {})
        self.config = dict(connection_config or {})
        self.hook = hook or NoHook()

    def model(self, name: str) -> Model:
        model = self.definition.models.get(name.upper())
        if model is None:
            raise ProviderError(f"{self.definition.name} has no data model {name}")
        return model

    def _build(self, name: str, spec: Request, **context: Any) -> HttpRequest:
        ctx = {"base_url": self.base_url, "connection_config": self.config, **context}
        try:
            path = render(spec.path, ctx)
            request = HttpRequest(
                method=spec.method,
                url=path if path.startswith(("http://", "https://")) else self.base_url + path,
                params={k: render(v, ctx) for k, v in spec.params.items()},
                json=render_value(spec.body, ctx) if spec.body is not None else None,
                headers={k: render(v, ctx) for k, v in spec.headers.items()},
            )
        except TemplateError as e:
            raise ProviderError(f"{self.definition.name}/{name}: {e}") from e
        return request

    async def _send(self, name: str, request: HttpRequest) -> httpx.Response:
        request = self.hook.prepare_request(name, request)
        base, path, own = _url(request.url)
        what = f"{request.method} {path}"
        # A next-page URL's own query first, then the request's, then the connection's.
        query = str(httpx.QueryParams(
            [*own, *request.params.items(), *self.params.items()]))
        url = f"{base}?{query}" if query else base
        # Case-insensitive: a model's `Accept` replaces the default `accept`, never joins it.
        headers = httpx.Headers(self.headers)
        headers.update(request.headers)
        content = _body(request, headers)
        # `transport.ProviderHttp` sends it as built, past httpx's client layer (not imported
        # here: aiohttp costs the services that only read definitions memory and start time).
        plain = getattr(self.http, "send_plain", None)
        response: httpx.Response
        try:
            if plain is not None:
                response = await plain(request.method, url, headers, content)
            else:
                response = await self.http.request(request.method, url, headers=headers,
                                                   content=content)
        except (httpx.TimeoutException, httpx.TransportError) as e:
            raise ProviderUnavailable(f"{what}: {type(e).__name__} reaching the provider") from e
        raise_for(response, what, self.definition)
        return response

    def _since(self, model: Model, request: HttpRequest, since: datetime,
               lookback: bool = True) -> None:
        inc = model.incremental
        if inc is None:
            return
        value = format_time(since, inc.format, inc.lookback_seconds if lookback else 0)
        if inc.param is not None:
            request.params[inc.param] = value
        else:
            context = {"since": value, "connection_config": self.config}
            extra = render_value(inc.body_filter, context)
            request.json = {**(request.json or {}), **extra}

    async def fetch_page(self, model_name: str, state: Mapping[str, Any] | None, *,
                         since: datetime | None = None) -> Page:
        """One page; `state` is the previous page's `next_state` (None/{} for the first)."""
        model = self.model(model_name)
        request = self._build(model_name, model.request)
        restart = parse_time(state.get("since")) if state else None
        if restart is not None:  # a query started again past the provider's results cap
            self._since(model, request, restart, lookback=False)
        elif since is not None:
            self._since(model, request, since)
        paging.apply(model, dict(state) if state else None, request)
        response = await self._send(model_name, request)
        body, rows = _rows(response, model.records, request)
        page = self._split(model_name, model, rows)
        nxt = paging.follow(model, dict(state) if state else None, body, rows, response)
        limit = self.definition.rate_limit
        return Page(page[0], nxt, page[1], page[2], exhausted_wait(response, limit))

    def _split(self, name: str, model: Model,
               rows: list[Any]) -> tuple[list[Any], list[str], list[str]]:
        records: list[dict[str, Any]] = []
        ids: list[str] = []
        deleted: list[str] = []
        tomb = model.deletion if isinstance(model.deletion, TombstoneDeletion) else None
        for raw in rows:
            record = self.hook.transform_record(name, raw)
            rid = record_id(model, record)
            if rid is None:
                continue  # nothing to store it under
            if tomb is not None and get_path(record, tomb.path) == tomb.value:
                deleted.append(rid)
                continue
            if model.fields is not None:
                record = {k: record[k] for k in model.fields if k in record}
            records.append(record)
            ids.append(rid)
        return records, ids, deleted

    async def fetch_deleted(self, model_name: str, since: datetime) -> list[str]:
        """Ids the model's "deleted since" endpoint lists, over all its pages (empty for other
        deletion styles)."""
        model = self.model(model_name)
        spec = model.deletion
        if not isinstance(spec, EndpointDeletion):
            return []
        # The listing pages in a style of its own (HubSpot's archived listing: `after` in the
        # query, where its search takes it in the body).
        pager = Model(request=spec.request, paging=spec.paging, page_size=spec.page_size,
                      limit_param=spec.limit_param)
        ids: list[str] = []
        state: dict[str, Any] | None = None
        for _ in range(MAX_DELETION_PAGES):
            request = self._build(model_name, spec.request)
            if spec.since_param is not None:
                request.params[spec.since_param] = format_time(since, spec.format)
            paging.apply(pager, state, request)
            response = await self._send(model_name, request)
            body, rows = _rows(response, spec.records, request)
            ids += _deleted_ids(spec, rows, since)
            state = paging.follow(pager, state, body, rows, response)
            if state is None:
                break
        return ids

    async def write(self, model_name: str, data: Mapping[str, Any],
                    record_id_: str | None = None) -> dict[str, Any]:
        """Create (no id) or update a record as the model's `write` declares; the stored record."""
        model = self.model(model_name)
        write = model.write
        op = (write.create if record_id_ is None else write.update) if write else None
        if op is None:
            raise ProviderError(f"{model_name} does not support this write")
        ctx = {"base_url": self.base_url, "connection_config": self.config,
               "id": record_id_ or "", "data": dict(data)}
        try:
            path, body = render(op.path, ctx), render_value(op.body, ctx)
        except TemplateError as e:
            raise ProviderError(f"{self.definition.name}/{model_name}: {e}") from e
        request = HttpRequest(op.method, self.base_url + path, json=body)
        if op.encoding == "form":
            request.json, request.form = None, form_fields(body)
        response = await self._send(model_name, request)
        try:
            record = get_path(response.json(), op.records)
        except ValueError as e:
            raise ProviderError(f"{request.method} {path}: the answer is not JSON") from e
        if not isinstance(record, dict):
            raise ProviderError(f"{request.method} {path}: no record at {op.records!r}")
        return self.hook.transform_record(model_name, record)

    async def create_record(self, model_name: str, data: Mapping[str, Any]) -> dict[str, Any]:
        return await self.write(model_name, data)

    async def update_record(self, model_name: str, record_id_: str,
                            data: Mapping[str, Any]) -> dict[str, Any]:
        return await self.write(model_name, data, record_id_)


def _body(request: HttpRequest, headers: httpx.Headers) -> bytes | None:
    """The request's body, JSON or form fields in their order, as httpx encodes them, and its
    content type (a model's own `Content-Type` stays, except over form fields)."""
    if request.form is not None:
        headers["content-type"] = "application/x-www-form-urlencoded"
        return urlencode(request.form).encode()
    if request.json is None:
        return None
    headers.setdefault("content-type", "application/json")
    return json.dumps(request.json, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).encode()


@lru_cache(maxsize=4096)
def _url(url: str) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    """A request URL as httpx writes it, without its query; its path (for messages); its own
    query's items. Cached: a sync asks the same URL page after page (only the query moves)."""
    parsed = httpx.URL(url)
    return (str(parsed.copy_with(query=None, fragment=None)), parsed.path,
            tuple(parsed.params.multi_items()))


def _deleted_ids(spec: EndpointDeletion, rows: list[Any], since: datetime) -> list[str]:
    out = []
    for row in rows:
        if not isinstance(row, Mapping):
            out.append(row)
            continue
        when = parse_time(get_path(row, spec.deleted_at)) if spec.deleted_at else None
        if when is None or when >= since:
            out.append(get_path(row, spec.id))
    return [str(i) for i in out if i is not None]


def _rows(response: httpx.Response, path: str, request: HttpRequest) -> tuple[Any, list[Any]]:
    try:
        body = _json(response)
    except ValueError as e:
        what = f"{request.method} {httpx.URL(request.url).path}"
        raise ProviderError(f"{what}: the answer is not JSON") from e
    rows = get_path(body, path)
    if not isinstance(rows, list):
        what = f"{request.method} {httpx.URL(request.url).path}"
        raise ProviderError(f"{what}: unexpected response shape (no list at {path!r})")
    return body, rows


# A number of 20 digits or more: orjson would read it as a float (losing digits) where the
# stdlib keeps the exact integer. Found as twenty zeros once every digit reads as a zero (a
# twentieth of orjson's parse, where a regex costs five parses); a string holding such digits
# only costs the slower parse.
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_INTEGER = b"0" * 20


def _json(response: httpx.Response) -> Any:
    """The answer's JSON, parsed by orjson (a page's largest cost in the stdlib parser); what
    orjson refuses (NaN, numbers past a double) or would round (integers past 64 bits) goes to
    the stdlib's, as before."""
    content = response.content
    if _LONG_INTEGER not in content.translate(_DIGITS_AS_ZERO):
        try:
            return orjson.loads(content)
        except orjson.JSONDecodeError:
            pass
    return response.json()

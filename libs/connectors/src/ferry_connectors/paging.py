"""Paging styles: where the next page's position goes in a request, and where it comes from.

The state between pages is a small JSON dict (checkpointed after every page); None asks for the
first page and, as an answer, means that was the last one.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

import httpx

from .definition import (
    CursorFromRecordPaging,
    CursorPaging,
    LinkHeaderPaging,
    Model,
    NextUrlPaging,
    OffsetPaging,
    PageNumberPaging,
    PageTokenPaging,
)
from .errors import ProviderError
from .hooks import HttpRequest
from .template import get_path, parse_time, set_path

State = dict[str, Any] | None


def put(request: HttpRequest, where: str, name: str, value: Any) -> None:
    """A paging or size value into the query or (dotted path) into the JSON body."""
    if where == "body":
        if request.json is None:
            request.json = {}
        set_path(request.json, name, value)
    else:
        request.params[name] = value


def apply(model: Model, state: State, request: HttpRequest) -> None:
    """Put the position of the page `state` names into the request."""
    p, s = model.paging, state or {}
    if model.limit_param:
        put(request, model.limit_in, model.limit_param, model.page_size)
    if isinstance(p, CursorPaging) and s.get("cursor") is not None:
        put(request, p.cursor_in, p.cursor_param, s["cursor"])
    elif isinstance(p, CursorFromRecordPaging) and s.get("after") is not None:
        request.params[p.cursor_param] = s["after"]
    elif isinstance(p, NextUrlPaging | LinkHeaderPaging) and s.get("url"):
        request.url = urljoin(request.url, s["url"])
        request.params = {}  # the next URL carries its own query
    elif isinstance(p, OffsetPaging):
        put(request, p.offset_in, p.offset_param, int(s.get("offset", 0)))
    elif isinstance(p, PageNumberPaging):
        request.params[p.page_param] = int(s.get("page", p.start))
    elif isinstance(p, PageTokenPaging) and s.get("token"):
        request.params[p.token_param] = s["token"]


def _full(model: Model, rows: list[Any]) -> bool:
    return len(rows) >= model.page_size


def _seen(p: CursorPaging, s: dict[str, Any], rows: list[Any]) -> dict[str, Any]:
    """What a restartable query carries from page to page: its results so far, its start."""
    if not p.restart_after:
        return {}
    return {"seen": int(s.get("seen", 0)) + len(rows),
            **({"since": s["since"]} if s.get("since") else {})}


def _restart(model: Model, p: CursorPaging, s: dict[str, Any], rows: list[Any]) -> State:
    """Past the provider's results cap, a new query from the last record's change time (the
    results are sorted on it); the records at that very time come again, unchanged."""
    seen = int(s.get("seen", 0)) + len(rows)
    if not p.restart_after or seen + model.page_size <= p.restart_after or not rows:
        return None
    path = (model.incremental.high_water_path if model.incremental else None) or model.updated_at
    last = parse_time(get_path(rows[-1], path)) if path else None
    if last is None:
        return None
    if s.get("since") == last.isoformat():
        raise ProviderError(f"more than {p.restart_after} records changed at {last.isoformat()}")
    return {"since": last.isoformat()}


def follow(model: Model, state: State, body: Any, rows: list[Any],
           response: httpx.Response) -> State:
    """The state of the page after this one; None when this was the last."""
    p, s = model.paging, state or {}
    if isinstance(p, CursorPaging):
        cursor = get_path(body, p.cursor_path)
        if p.has_more_path is not None and not get_path(body, p.has_more_path):
            return None
        if cursor in (None, ""):
            return None
        return _restart(model, p, s, rows) or {"cursor": cursor, **_seen(p, s, rows)}
    if isinstance(p, CursorFromRecordPaging):
        more = get_path(body, p.has_more_path) if p.has_more_path else _full(model, rows)
        last = get_path(rows[-1], p.record_path) if rows else None
        return {"after": last} if more and last is not None else None
    if isinstance(p, NextUrlPaging):
        url = get_path(body, p.next_url_path)
        return {"url": url} if url else None
    if isinstance(p, LinkHeaderPaging):
        url = response.links.get("next", {}).get("url")
        return {"url": url} if url else None
    if isinstance(p, OffsetPaging):
        offset = int(s.get("offset", 0)) + len(rows)
        total = get_path(body, p.total_path) if p.total_path else None
        done = offset >= int(total) if total is not None else not _full(model, rows)
        return None if done or not rows else {"offset": offset}
    if isinstance(p, PageNumberPaging):
        page = int(s.get("page", p.start))
        pages = get_path(body, p.total_pages_path) if p.total_pages_path else None
        done = page - p.start + 1 >= int(pages) if pages is not None else not _full(model, rows)
        return None if done or not rows else {"page": page + 1}
    if isinstance(p, PageTokenPaging):
        token = get_path(body, p.token_path)
        return {"token": token} if token else None
    return None

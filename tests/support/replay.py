"""One configurable provider for the connector style tests: a real local HTTP server.

Each dataset (`/{ds}/...`) holds records with created/updated/deleted mutations, and is served
in every paging style Ferry declares; since filters come in each time format, deleted records
either vanish, come back as tombstones (`?deleted=tombstone`), or are listed at `/{ds}/deleted`.
Requests need `Authorization: Bearer replay:<anything>` (a static header, as `auth: none`
sends). Admin routes (`/_admin/{ds}/...`) seed and mutate data, and count requests.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .loopback import LoopbackServer


@dataclass
class Dataset:
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: int = 0
    next_id: int = 1

    def touch(self, rid: str, **changes: Any) -> None:
        when = datetime.now(UTC) + timedelta(microseconds=len(self.records))
        rec = self.records.setdefault(
            rid, {"id": rid, "kind": "item", "archived": False, "status": "live", "name": rid}
        )
        rec.update(
            changes,
            updated_at=when.isoformat().replace("+00:00", "Z"),
            updated_ms=int(when.timestamp() * 1000),
        )

    def create(self, n: int) -> list[str]:
        made = []
        for _ in range(n):
            rid = f"r{self.next_id:05d}"
            self.next_id += 1
            self.touch(rid)
            made.append(rid)
        return made

    def select(self, since: datetime | None, tombstones: bool) -> list[dict[str, Any]]:
        rows = [r for r in self.records.values() if tombstones or not r["archived"]]
        if since is not None:
            rows = [r for r in rows if r["updated_ms"] >= since.timestamp() * 1000]
        return sorted(rows, key=lambda r: (r["updated_ms"], r["id"]))


def _since(value: str | None, fmt: str) -> datetime | None:
    if not value:
        return None
    if fmt == "epoch_seconds":
        return datetime.fromtimestamp(int(value), UTC)
    if fmt == "epoch_millis":
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    if fmt == "date":
        return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class Replay(LoopbackServer):
    def __init__(self) -> None:
        self.data: dict[str, Dataset] = {}
        super().__init__(
            [
                Route("/_admin/{ds}/seed", self.seed, methods=["POST"]),
                Route("/_admin/{ds}/mutate", self.mutate, methods=["POST"]),
                Route("/_admin/{ds}/stats", self.stats),
                Route("/{ds}/search", self.search, methods=["POST"]),
                Route("/{ds}/{style}", self.listing),
            ]
        )

    def ds(self, request: Request) -> Dataset:
        return self.data.setdefault(request.path_params["ds"], Dataset())

    # --- admin ----------------------------------------------------------------------------

    async def seed(self, request: Request) -> JSONResponse:
        return JSONResponse({"created": self.ds(request).create((await request.json())["count"])})

    async def mutate(self, request: Request) -> JSONResponse:
        """{"update": n, "create": n, "delete": n}: the oldest live records change or go."""
        body, ds = await request.json(), self.ds(request)
        await asyncio.sleep(0.01)  # the mutations come strictly after what was synced
        live = sorted(r["id"] for r in ds.records.values() if not r["archived"])
        gone = live[: body.get("delete", 0)]
        updated = live[len(gone) : len(gone) + body.get("update", 0)]
        for rid in updated:
            ds.touch(rid, name=f"{rid} v2")
        for rid in gone:
            ds.touch(rid, archived=True, status="deleted")
        return JSONResponse(
            {"updated": updated, "deleted": gone, "created": ds.create(body.get("create", 0))}
        )

    async def stats(self, request: Request) -> JSONResponse:
        return JSONResponse({"requests": self.ds(request).requests})

    # --- the provider API ------------------------------------------------------------------

    def _check(self, request: Request) -> JSONResponse | None:
        self.ds(request).requests += 1
        if not request.headers.get("authorization", "").startswith("Bearer replay:"):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        return None

    async def listing(self, request: Request) -> JSONResponse:
        if (refused := self._check(request)) is not None:
            return refused
        q, ds, style = request.query_params, self.ds(request), request.path_params["style"]
        if style == "deleted":
            since = _since(q.get("since"), "iso8601")
            return JSONResponse(
                {"deleted": [{"id": r["id"]} for r in ds.select(since, True) if r["archived"]]}
            )
        fmt = q.get("fmt", "iso8601")
        rows = ds.select(_since(q.get("since"), fmt), q.get("deleted") == "tombstone")
        return STYLES[style](request, rows)

    async def search(self, request: Request) -> JSONResponse:
        """Google-style page tokens over a POST search with a JSON filter."""
        if (refused := self._check(request)) is not None:
            return refused
        body = await request.json()
        since = _since((body.get("filter") or {}).get("updated_after"), "iso8601")
        rows = self.ds(request).select(since, False)
        start = int(request.query_params.get("pageToken") or 0)
        page, more = _window(rows, start, int(body["limit"]))
        return JSONResponse(
            {"hits": page, "nextPageToken": str(start + len(page)) if more else None}
        )


def _window(rows: list[Any], start: int, size: int) -> tuple[list[Any], bool]:
    return rows[start : start + size], start + size < len(rows)


def _cursor(request: Request, rows: list[Any]) -> JSONResponse:
    q = request.query_params
    start = int(q.get("after", "o:0")[2:])
    page, more = _window(rows, start, int(q["limit"]))
    paging = {"next": {"after": f"o:{start + len(page)}"}} if more else {}
    return JSONResponse({"data": {"items": page}, "paging": paging})


def _stripe(request: Request, rows: list[Any]) -> JSONResponse:
    q = request.query_params
    ids = [r["id"] for r in rows]
    start = ids.index(q["starting_after"]) + 1 if q.get("starting_after") else 0
    page, more = _window(rows, start, int(q["limit"]))
    return JSONResponse({"object": "list", "data": page, "has_more": more})


def _soql(request: Request, rows: list[Any]) -> JSONResponse:
    q = request.query_params
    start = int(q.get("offset", 0))
    page, more = _window(rows, start, int(q["limit"]))
    nxt = (
        request.url.include_query_params(offset=start + len(page)).path
        + "?"
        + request.url.include_query_params(offset=start + len(page)).query
    )
    return JSONResponse(
        {"records": page, "done": not more, "nextRecordsUrl": nxt if more else None}
    )


def _link(request: Request, rows: list[Any]) -> JSONResponse:
    q = request.query_params
    number, size = int(q.get("page", 1)), int(q["per_page"])
    page, more = _window(rows, (number - 1) * size, size)
    headers = {}
    if more:
        headers["Link"] = f'<{request.url.include_query_params(page=number + 1)}>; rel="next"'
    return JSONResponse(page, headers=headers)


def _offset(request: Request, rows: list[Any]) -> JSONResponse:
    q = request.query_params
    page, _ = _window(rows, int(q.get("offset", 0)), int(q["limit"]))
    return JSONResponse({"results": page, "total": len(rows)})


def _pages(request: Request, rows: list[Any]) -> JSONResponse:
    q = request.query_params
    number, size = int(q.get("page", 1)), int(q["per_page"])
    page, _ = _window(rows, (number - 1) * size, size)
    return JSONResponse({"items": page, "total_pages": max(1, -(-len(rows) // size))})


STYLES = {
    "cursor": _cursor,
    "stripe": _stripe,
    "soql": _soql,
    "link": _link,
    "offset": _offset,
    "pages": _pages,
}

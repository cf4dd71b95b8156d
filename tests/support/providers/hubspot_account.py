"""One HubSpot account in memory: contacts and companies with HubSpot's property names, changed
from the test, and answered the way the CRM v3 search and archived listing endpoints answer."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# The property each object type keeps its last modification time in.
MODIFIED = {"contacts": "lastmodifieddate", "companies": "hs_lastmodifieddate"}
DEFAULT_PROPERTIES = {"contacts": ["email", "firstname", "lastname"],
                      "companies": ["name", "domain"]}
SEARCH_MAX_LIMIT = 200
SEARCH_MAX_RESULTS = 10_000


class BadRequest(Exception):
    """A request HubSpot refuses with 400 VALIDATION_ERROR."""


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds") \
        .replace("+00:00", "Z")


def to_millis(value: Any) -> int:
    """A filter value: epoch milliseconds (number or digits), or ISO 8601 text."""
    text = str(value)
    if text.lstrip("-").isdigit():
        return int(text)
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


@dataclass
class CrmObject:
    id: str
    kind: str
    properties: dict[str, str]
    created_ms: int
    updated_ms: int
    archived_ms: int | None = None

    def value(self, name: str) -> Any:
        """A property as the search compares it: dates as epoch millis, the rest as text."""
        if name in ("createdate", "hs_createdate"):
            return self.created_ms
        if name == MODIFIED[self.kind]:
            return self.updated_ms
        if name == "hs_object_id":
            return int(self.id)
        return self.properties.get(name)

    def view(self, wanted: list[str] | None) -> dict[str, Any]:
        props = {"createdate": iso(self.created_ms), MODIFIED[self.kind]: iso(self.updated_ms),
                 "hs_object_id": self.id, **self.properties}
        names = wanted if wanted else [*DEFAULT_PROPERTIES[self.kind], "createdate",
                                       MODIFIED[self.kind], "hs_object_id"]
        out = {"id": self.id, "properties": {n: props.get(n) for n in names},
               "createdAt": iso(self.created_ms), "updatedAt": iso(self.updated_ms),
               "archived": self.archived_ms is not None}
        if self.archived_ms is not None:
            out["archivedAt"] = iso(self.archived_ms)
        return out


_OPS = {"EQ": lambda a, b: a == b, "NEQ": lambda a, b: a != b, "GT": lambda a, b: a > b,
        "GTE": lambda a, b: a >= b, "LT": lambda a, b: a < b, "LTE": lambda a, b: a <= b}


def _matches(obj: CrmObject, group: dict[str, Any]) -> bool:
    for f in group.get("filters", []):
        actual = obj.value(f["propertyName"])
        if actual is None or f["operator"] not in _OPS:
            return False
        wanted = to_millis(f["value"]) if isinstance(actual, int) else str(f["value"])
        if not _OPS[f["operator"]](actual, wanted):
            return False
    return True


@dataclass
class Account:
    objects: dict[str, dict[str, CrmObject]] = field(
        default_factory=lambda: {"contacts": {}, "companies": {}})
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_id: int = 1001
    last_ms: int = 0

    def _now(self) -> int:
        # Never backwards; several changes in one millisecond share it, as at HubSpot.
        self.last_ms = max(int(time.time() * 1000), self.last_ms)
        return self.last_ms

    def create(self, kind: str, properties: dict[str, Any]) -> CrmObject:
        with self.lock:
            now, rid = self._now(), str(self.next_id)
            self.next_id += 1
            obj = CrmObject(rid, kind, {k: str(v) for k, v in properties.items()}, now, now)
            self.objects[kind][rid] = obj
            return obj

    def seed(self, kind: str, count: int) -> list[str]:
        made = []
        for _ in range(count):
            n = self.next_id
            props = ({"email": f"person{n}@example.com", "firstname": f"First{n}",
                      "lastname": f"Last{n}"} if kind == "contacts"
                     else {"name": f"Company {n}", "domain": f"company{n}.example.com"})
            made.append(self.create(kind, props).id)
        return made

    def update(self, kind: str, rid: str, properties: dict[str, Any]) -> CrmObject | None:
        with self.lock:
            obj = self.objects[kind].get(rid)
            if obj is None or obj.archived_ms is not None:
                return None
            obj.properties.update({k: str(v) for k, v in properties.items()})
            obj.updated_ms = self._now()
            return obj

    def archive(self, kind: str, rid: str) -> None:
        with self.lock:
            obj = self.objects[kind][rid]
            obj.archived_ms = obj.updated_ms = self._now()

    def live(self, kind: str) -> list[str]:
        with self.lock:
            return [o.id for o in self.objects[kind].values() if o.archived_ms is None]

    def search(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /crm/v3/objects/{kind}/search`: filter groups ORed, filters ANDed, one sort,
        `after` as an offset, never past the first 10,000 results."""
        limit, start = int(body.get("limit", 10)), int(body.get("after") or 0)
        if not 1 <= limit <= SEARCH_MAX_LIMIT or start + limit > SEARCH_MAX_RESULTS:
            raise BadRequest(f"limit {limit} / after {start} out of range")
        groups = body.get("filterGroups") or []
        with self.lock:
            rows = [o for o in self.objects[kind].values() if o.archived_ms is None
                    and (not groups or any(_matches(o, g) for g in groups))]
        for sort in reversed(body.get("sorts") or [{"propertyName": "hs_object_id"}]):
            name = sort["propertyName"]
            rows.sort(key=lambda o, n=name: (o.value(n) is None, o.value(n) or 0, int(o.id)),
                      reverse=sort.get("direction") == "DESCENDING")
        page = rows[start:start + limit]
        out: dict[str, Any] = {"total": len(rows),
                               "results": [o.view(body.get("properties")) for o in page]}
        if start + limit < len(rows):
            out["paging"] = {"next": {"after": str(start + limit)}}
        return out

    def listing(self, kind: str, archived: bool, limit: int, after: str | None,
                url: str) -> dict[str, Any]:
        """`GET /crm/v3/objects/{kind}?archived=`: by id, `after` the last id of the page."""
        if not 1 <= limit <= 100:
            raise BadRequest(f"limit {limit} out of range")
        with self.lock:
            rows = sorted((o for o in self.objects[kind].values()
                           if (o.archived_ms is not None) == archived), key=lambda o: int(o.id))
        if after:
            rows = [o for o in rows if int(o.id) > int(after)]
        page = rows[:limit]
        out: dict[str, Any] = {"results": [o.view(None) for o in page]}
        if len(rows) > limit:
            last = page[-1].id
            out["paging"] = {"next": {"after": last, "link": f"{url}&after={last}"}}
        return out

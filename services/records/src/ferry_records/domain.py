"""Pure rules of the records service (canonical hashing, diffs, cursors, the mass-delete
guard, how pages group and what they emit) and the service's own records. No I/O."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import orjson
from ferry_contracts import Envelope
from ferry_contracts.records import RecordChanged, RecordsEnd, RecordsPage
from ferry_contracts.sync import SyncCompleted, SyncCounts
from ferry_contracts.topics import Encoded, record_changed
from ferry_contracts.values import JobOutcome, RecordAction
from ferry_kit import cursor
from ferry_kit.clock import parse_instant

_CANON = orjson.OPT_SORT_KEYS


def canonical(data: dict[str, Any]) -> bytes:
    """Canonical JSON: sorted keys at every depth, no whitespace; key order is not a change."""
    return orjson.dumps(data, option=_CANON)


def content_hash(data: dict[str, Any]) -> tuple[bytes, bytes]:
    """(canonical JSON, its MD5): the stored hash that decides whether a record changed.

    Postgres cannot store the NUL character in jsonb, so a record holding one has it removed,
    in place: the `record.changed` event then carries what is stored."""
    raw = _canonical_any(data)
    if b"\\u0000" in raw:
        strip_nul(data)
        raw = _canonical_any(data)
    return raw, hashlib.md5(raw, usedforsecurity=False).digest()


def _canonical_any(data: dict[str, Any]) -> bytes:
    try:
        return canonical(data)
    except TypeError:  # an integer beyond 64 bits: the standard library handles any size
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def strip_nul(value: Any) -> Any:
    """Remove NUL characters from every string (keys too) of a JSON value, in place."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        value[:] = [strip_nul(v) for v in value]
    elif isinstance(value, dict):
        items = [(strip_nul(k), strip_nul(v)) for k, v in value.items()]
        value.clear()
        value.update(items)
    return value


def changed_fields(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Top-level fields whose value differs, with old and new values."""
    old = old or {}
    out = {}
    for key in old.keys() | new.keys():
        a, b = old.get(key), new.get(key)
        if not _same(a, b):
            out[key] = {"old": a, "new": b}
    return out


_SCALARS = (str, int, bool, type(None))


def _same(a: Any, b: Any) -> bool:
    """Equal as canonical JSON. Most fields are strings, integers, booleans or null of one type
    on both sides: compared as they are. Anything else (1 against 1.0, containers) as JSON."""
    if type(a) is type(b) and type(a) in _SCALARS:
        return bool(a == b)
    return canonical({"v": a}) == canonical({"v": b})


def encode_cursor(position: int) -> str:
    return cursor.encode_position("v1", position)


def decode_cursor(value: str) -> int | None:
    return cursor.decode_position(value, "v1")


provider_time = parse_instant  # a record's `updated_at` as the provider's ISO text


def should_hold(deletions: int, live: int, threshold: float, minimum: int) -> bool:
    """The mass-delete guard: a provider outage returning empty pages must not wipe a model.

    Held: more than `threshold` of the live records when that is more than `minimum` records,
    and, whatever the size, a deletion of every live record of a model that had any (an empty
    answer wipes a small model as surely as a big one). A small model losing some records is
    normal and goes through."""
    if live <= 0 or deletions <= 0:
        return False
    if deletions >= live:
        return True
    return deletions > minimum and deletions / live > threshold


# --- the service's records ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConfirmDeletions:
    """The customer confirms a model's held deletions."""

    connection_id: str
    data_model: str


@dataclass(frozen=True, slots=True)
class PageCounts:
    """What a group of pages adds to its job's counts."""

    fetched: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    seen: int = 0
    first_position: int | None = None


@dataclass(frozen=True, slots=True)
class KnownConnection:
    """What the records service keeps of a connection; `deleted` is a tombstone."""

    connection_id: str
    project_id: str | None
    initial_sync_record_events: bool
    deleted: bool


@dataclass(frozen=True, slots=True)
class Written:
    """A stored record an upsert changed; `old_data` is the version before it, for updates."""

    record_id: str
    action: RecordAction
    position: int
    modified_at: datetime
    old_data: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class Deleted:
    record_id: str
    position: int
    modified_at: datetime


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A record as the change feed and the record view show it (`version` only in the view)."""

    record_id: str
    data: dict[str, Any]
    action: str
    position: int
    first_seen_at: datetime
    modified_at: datetime
    deleted_at: datetime | None
    version: int = 1


@dataclass(frozen=True, slots=True)
class Version:
    """A later version of a record: its cursor position and the fields it changed."""

    position: int
    changes: dict[str, Any]
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class ModelState:
    data_model: str
    last_synced_at: datetime | None
    last_status: str | None
    last_error: str | None
    held_deletions: int


# --- rules of ingest --------------------------------------------------------------------------


def ingest_groups(events: Sequence[Envelope[Any]]) -> list[list[Envelope[Any]]]:
    """Consecutive pages of one job (same connection and model) go together, in one
    transaction; an end marker goes alone, after the pages before it."""
    groups: list[list[Envelope[Any]]] = []
    group: list[Envelope[Any]] = []
    for event in events:
        item = event.data.item
        if group and not (isinstance(item, RecordsPage) and _same_job(group[0], event)):
            groups.append(group)
            group = []
        group.append(event)
        if isinstance(item, RecordsEnd):
            groups.append(group)
            group = []
    if group:
        groups.append(group)
    return groups


def _same_job(head: Envelope[Any], event: Envelope[Any]) -> bool:
    a, b = head.data.item, event.data.item
    return (a.job_id == b.job_id and head.connection_id == event.connection_id
            and a.data_model == b.data_model)


def latest_records(pages: Sequence[RecordsPage]) -> tuple[dict[str, dict[str, Any]], int]:
    """The pages' records by id (a record twice: its last version wins; no id: not stored) and
    how many records were fetched. The id becomes a string (NULs removed) in the record too,
    so `->>'id'` and the API agree whatever type the provider uses."""
    latest: dict[str, dict[str, Any]] = {}
    fetched = 0
    for p in pages:
        fetched += len(p.records)
        for i, record in enumerate(p.records):
            rid = p.ids[i] if p.ids is not None and i < len(p.ids) else record.get("id")
            if rid is not None:
                latest[str(rid).replace("\x00", "")] = record
    return {rid: data if data.get("id") == rid else {**data, "id": rid}
            for rid, data in latest.items()}, fetched


def listed_deletions(pages: Sequence[RecordsPage], latest: dict[str, Any]) -> list[str]:
    """Ids the provider listed as deleted in these pages, but for those it also sent."""
    return sorted({str(i) for p in pages for i in p.deleted_ids} - set(latest))


def quiet(page: RecordsPage, known: KnownConnection) -> bool:
    """No `record.changed` per record: an initial sync the project did not opt in for. The
    page says so when its sync was requested with the opt-in; older pages say nothing, and the
    connection as last remembered decides (its `connection.changed` may not have come yet)."""
    if not page.is_initial_sync:
        return False
    wanted = page.record_events
    return not (known.initial_sync_record_events if wanted is None else wanted)


def probes(page: RecordsPage) -> bool:
    """Whether a page's records are probed (which are new, which changed) before they are
    written. A full or initial sync's mostly are not changed, or all are new: the probe keeps
    unchanged records' JSON off the wire, notes them as seen, and sends new ones by COPY. An
    incremental sync brings what changed since the last: the upsert alone (whose hash filter
    leaves an unchanged record alone) does in one statement what probe and upsert do in two."""
    return page.full_sync or page.is_initial_sync


def job_outcome(end: RecordsEnd, stored: int) -> tuple[JobOutcome, str | None]:
    """The job's outcome as stored here. A page that did not make it (sent to the dead-letter
    topic) fails a sync the executor calls complete: its records were not seen (no deletion
    may be inferred) and an incremental sync must not move its high-water mark past them."""
    if end.status != "complete" or stored >= end.fetched:
        return end.status, end.error
    return "failed", (f"{end.fetched - stored} of the {end.fetched} records fetched could "
                      "not be stored (see the records.fetched dead-letter topic); "
                      "nothing was deleted")


def window_start(sync_from: date | None) -> datetime | None:
    """A full sync bounded by `sync_from` sees, and so deletes, only records from then on."""
    return datetime.combine(sync_from, datetime.min.time(), UTC) if sync_from else None


def change_event(
    model: str, page: RecordsPage, w: Written, data: dict[str, Any],
    changes: dict[str, dict[str, Any]] | None = None, *, project_id: str | None = None,
    connection_id: str | None = None,
) -> Encoded:
    """The `record.changed` of a record written by a page (created, or updated with its diff,
    computed here unless the caller has it already), encoded as its envelope goes on the wire.

    One per changed record: written straight from plain values (`topics.record_changed`), a
    fifth of the cost of validating an envelope and dumping it."""
    if changes is None:
        changes = changed_fields(w.old_data, data) if w.action == "updated" else {}
    return record_changed(
        project_id=project_id, connection_id=connection_id, data_model=model,
        record_id=w.record_id, action=w.action, cursor=encode_cursor(w.position),
        job_id=page.job_id, is_initial_sync=page.is_initial_sync, modified_at=w.modified_at,
        data=data, changed_fields=changes)


def deletion_events(model: str, job_id: str | None, gone: Iterable[Deleted]) -> list[RecordChanged]:
    """`record.changed` deletions in cursor order (`UPDATE ... RETURNING` has no set order, and
    webhooks deliver a connection's events in the order they are emitted)."""
    return [RecordChanged(data_model=model, record_id=d.record_id, action="deleted",
                          cursor=encode_cursor(d.position), job_id=job_id,
                          modified_at=d.modified_at, data=None)
            for d in sorted(gone, key=lambda d: d.position)]


def sync_completed(
    end: RecordsEnd, connection_id: str, model: str, status: JobOutcome, error: str | None,
    counts: SyncCounts, held: int, synced_at: datetime | None,
) -> SyncCompleted:
    return SyncCompleted(
        job_id=end.job_id, batch_id=end.batch_id, connection_id=connection_id,
        provider_name=end.provider_name,
        data_model=model, status=status, full_sync=end.full_sync,
        is_initial_sync=end.is_initial_sync, counts=counts, held_deletions=held, error=error,
        last_synced_at=synced_at, high_water_mark=end.high_water_mark,
    )

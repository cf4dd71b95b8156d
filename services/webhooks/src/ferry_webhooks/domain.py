"""Pure rules of webhooks: event types, lanes, message bodies, signatures, retries, endpoint
health (no I/O)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

import orjson
from ferry_contracts import Envelope
from ferry_contracts.connections import ConnectionChanged
from ferry_contracts.envelope import uuid7
from ferry_contracts.records import RecordChanged
from ferry_contracts.sync import SyncCompleted
from standardwebhooks.webhooks import Webhook

from .model import Change, Lane, NewMessage, Outcome, Subscription

EVENT_TYPES: Final[tuple[str, ...]] = (
    "sync_completed",
    "sync_failed",
    "record_created",
    "record_updated",
    "record_deleted",
    "connection_status_changed",
)
RECORD_EVENT_TYPES: Final[tuple[str, ...]] = tuple(
    t for t in EVENT_TYPES if t.startswith("record_"))
STATUSES: Final[tuple[str, ...]] = ("pending", "retrying", "delivered", "failed")
WAITING: Final[frozenset[str]] = frozenset({"pending", "retrying"})
def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def new_endpoint_id() -> str:
    return "ep_" + uuid7().hex


def new_message_id() -> str:
    return "msg_" + uuid7().hex


def matches(event_types: Sequence[str] | None, event_type: str) -> bool:
    """An empty filter takes every type."""
    return not event_types or event_type in event_types


def projects_taking(subscriptions: Iterable[Subscription], event_types: Sequence[str]) -> set[str]:
    """The projects with an endpoint that takes one of these types of event."""
    return {s.project_id for s in subscriptions
            if any(matches(s.event_types, t) for t in event_types)}


def invalid_event_types(event_types: Sequence[str]) -> list[int]:
    return [i for i, t in enumerate(event_types) if t not in EVENT_TYPES]


def lane(ordered: bool, connection_id: str | None, message_id: str) -> str:
    """Messages sharing a lane are delivered one after another, oldest first."""
    return (connection_id or "") if ordered else message_id


def lane_lock_key(endpoint_id: str, lane_name: str) -> int:
    digest = hashlib.blake2b(f"{endpoint_id}\x00{lane_name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def ready_flags(messages: Sequence[NewMessage], busy: set[Lane]) -> list[bool]:
    """Which new messages may go at once: in an ordered lane only the oldest undelivered one
    (`busy`: the lanes that already have one waiting)."""
    busy = set(busy)
    ready: list[bool] = []
    for m in messages:
        key = (m.endpoint_id, m.lane)
        ready.append(not m.ordered or key not in busy)
        if m.ordered:
            busy.add(key)
    return ready


def connection_of(event: Envelope[Any]) -> str | None:
    return event.connection_id or getattr(event.data, "connection_id", None)


def messages_for(
    subscriptions: Iterable[Subscription], event: Envelope[Any], project_id: str,
    connection_id: str | None, change: Change,
) -> list[NewMessage]:
    """One message per endpoint of the project that takes this type of event."""
    kind, data = change
    out = []
    for sub in subscriptions:
        if sub.project_id != project_id or not matches(sub.event_types, kind):
            continue
        mid = new_message_id()
        out.append(NewMessage(
            id=mid, project_id=project_id, endpoint_id=sub.id, connection_id=connection_id,
            lane=lane(sub.ordered, connection_id, mid), ordered=sub.ordered, event_id=event.id,
            event_type=kind, body=body(mid, kind, event.occurred_at, project_id, data),
            created_at=event.occurred_at,
        ))
    return out


# --- event -> (type, data) --------------------------------------------------------------------

def iso(t: datetime | None) -> str | None:
    """Times in webhooks and this API: ISO 8601 with `Z` for UTC."""
    return t.isoformat().replace("+00:00", "Z") if t else None


def sync_event(e: Envelope[SyncCompleted], user_id: str | None) -> Change:
    s = e.data
    kind = "sync_completed" if s.status == "complete" else "sync_failed"
    data: dict[str, Any] = {
        "connection_id": s.connection_id, "user_id": user_id, "provider_name": s.provider_name,
        "data_model": s.data_model, "job_id": s.job_id, "batch_id": s.batch_id,
        "full_sync": s.full_sync, "is_initial_sync": s.is_initial_sync,
        "counts": s.counts.model_dump(mode="json"), "last_synced_at": iso(s.last_synced_at),
        "held_deletions": s.held_deletions,
    }
    if kind == "sync_failed":
        data["status"] = s.status
        data["error"] = s.error
    return kind, data


def record_event(e: Envelope[RecordChanged], user_id: str | None) -> Change:
    r = e.data
    data: dict[str, Any] = {
        "connection_id": e.connection_id, "user_id": user_id, "data_model": r.data_model,
        "record_id": r.record_id, "cursor": r.cursor, "modified_at": iso(r.modified_at),
    }
    if r.action in ("created", "updated"):
        data["data"] = r.data
    if r.action == "updated":
        data["changed_fields"] = {k: v.model_dump(mode="json") for k, v in r.changed_fields.items()}
    return f"record_{r.action}", data


def status_event(c: ConnectionChanged, previous_status: str | None) -> Change | None:
    """A `connection_status_changed` when the status really changed (deletion excluded)."""
    if c.status == "DELETED" or c.status == previous_status:
        return None
    return "connection_status_changed", {
        "connection_id": c.connection_id, "user_id": c.user_id, "provider_name": c.provider_name,
        "status": c.status, "previous_status": previous_status,
    }


def body(message_id: str, event_type: str, created_at: datetime, project_id: str,
         data: dict[str, Any]) -> str:
    return orjson.dumps({
        "id": message_id, "type": event_type, "created_at": iso(created_at),
        "project_id": project_id, "data": data,
    }).decode()


# --- signing ----------------------------------------------------------------------------------

_signers: dict[str, Webhook] = {}


def _signer(secret: str) -> Webhook:
    w = _signers.get(secret)
    if w is None:
        if len(_signers) > 10_000:
            _signers.clear()
        w = _signers[secret] = Webhook(secret)
    return w


def headers(message_id: str, at: datetime, body_text: str, secrets_: list[str]) -> dict[str, str]:
    """Standard Webhooks headers; several secrets (during a rotation) give several signatures."""
    sigs = " ".join(_signer(s).sign(message_id, at, body_text) for s in secrets_)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": sigs,
        "content-type": "application/json",
        "user-agent": "Ferry-Webhooks/1",
    }


# --- retries and endpoint health --------------------------------------------------------------

def next_retry(schedule: list[float], tries: int, now: datetime) -> datetime | None:
    """When to try again after the `tries`-th failed attempt; None when the schedule is used up."""
    if tries > len(schedule):
        return None
    return now + timedelta(seconds=schedule[tries - 1])


def verdict(status: int | None, tries: int, schedule: list[float],
            now: datetime) -> tuple[str, datetime | None]:
    """A message after its `tries`-th attempt: delivered (a 2xx), retrying (and when), or
    failed once the retry schedule is used up."""
    if status is not None and 200 <= status < 300:
        return "delivered", None
    next_at = next_retry(schedule, tries, now)
    return ("retrying" if next_at is not None else "failed"), next_at


def should_disable(failing_since: datetime | None, now: datetime, after_hours: float) -> bool:
    return failing_since is not None and now - failing_since >= timedelta(hours=after_hours)


def health(batch: Iterable[Outcome]) -> tuple[dict[str, datetime], list[str]]:
    """The endpoints that only failed in a batch (with their first failure) and those that
    succeeded: one success breaks a streak of failures."""
    failed: dict[str, datetime] = {}
    ok: set[str] = set()
    for o in batch:
        if o.status == "delivered":
            ok.add(o.endpoint_id)
        else:
            failed.setdefault(o.endpoint_id, o.attempted_at)
    return {ep: at for ep, at in failed.items() if ep not in ok}, sorted(ok)


def finished_lanes(outcomes: Iterable[Outcome]) -> set[Lane]:
    """Lanes whose head is done (delivered or failed): their next message may go."""
    return {(o.endpoint_id, o.lane) for o in outcomes if o.status in ("delivered", "failed")}


def error_text(o: Outcome) -> str | None:
    """What a message keeps as its last error."""
    if o.error:
        return o.error
    return f"HTTP {o.response_status}" if o.status != "delivered" else None

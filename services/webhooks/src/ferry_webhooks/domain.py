"""Pure rules of webhooks: event types, message bodies, secrets, signatures, retries."""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

import orjson
from ferry_contracts import Envelope
from ferry_contracts.connections import ConnectionChanged
from ferry_contracts.envelope import uuid7
from ferry_contracts.records import RecordChanged
from ferry_contracts.sync import SyncCompleted
from standardwebhooks.webhooks import Webhook

EVENT_TYPES: tuple[str, ...] = (
    "sync_completed",
    "sync_failed",
    "record_created",
    "record_updated",
    "record_deleted",
    "connection_status_changed",
)
STATUSES: tuple[str, ...] = ("pending", "retrying", "delivered", "failed")


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def new_endpoint_id() -> str:
    return "ep_" + uuid7().hex


def new_message_id() -> str:
    return "msg_" + uuid7().hex


def matches(event_types: list[str] | None, event_type: str) -> bool:
    """An empty filter takes every type."""
    return not event_types or event_type in event_types


def invalid_event_types(event_types: list[str]) -> list[int]:
    return [i for i, t in enumerate(event_types) if t not in EVENT_TYPES]


def lane(ordered: bool, connection_id: str | None, message_id: str) -> str:
    """Messages sharing a lane are delivered one after another, oldest first."""
    return (connection_id or "") if ordered else message_id


def lane_lock_key(endpoint_id: str, lane_name: str) -> int:
    digest = hashlib.blake2b(f"{endpoint_id}\x00{lane_name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


# --- event -> (type, data) --------------------------------------------------------------------

def _iso(t: datetime | None) -> str | None:
    return t.isoformat().replace("+00:00", "Z") if t else None


def sync_event(e: Envelope[Any], user_id: str | None) -> tuple[str, dict[str, Any]]:
    s: SyncCompleted = e.data
    kind = "sync_completed" if s.status == "complete" else "sync_failed"
    data: dict[str, Any] = {
        "connection_id": s.connection_id, "user_id": user_id, "provider_name": s.provider_name,
        "data_model": s.data_model, "job_id": s.job_id, "batch_id": s.batch_id, "full_sync": s.full_sync,
        "is_initial_sync": s.is_initial_sync, "counts": s.counts.model_dump(mode="json"),
        "last_synced_at": _iso(s.last_synced_at), "held_deletions": s.held_deletions,
    }
    if kind == "sync_failed":
        data["status"] = s.status
        data["error"] = s.error
    return kind, data


def record_event(e: Envelope[Any], user_id: str | None) -> tuple[str, dict[str, Any]]:
    r: RecordChanged = e.data
    data: dict[str, Any] = {
        "connection_id": e.connection_id, "user_id": user_id, "data_model": r.data_model,
        "record_id": r.record_id, "cursor": r.cursor, "modified_at": _iso(r.modified_at),
    }
    if r.action in ("created", "updated"):
        data["data"] = r.data
    if r.action == "updated":
        data["changed_fields"] = {k: v.model_dump(mode="json") for k, v in r.changed_fields.items()}
    return f"record_{r.action}", data


def status_event(c: ConnectionChanged, previous_status: str | None) -> tuple[str, dict[str, Any]] | None:
    """A `connection_status_changed` when the status really changed (deletion excluded)."""
    if c.status == "DELETED" or c.status == previous_status:
        return None
    return "connection_status_changed", {
        "connection_id": c.connection_id, "user_id": c.user_id, "provider_name": c.provider_name,
        "status": c.status, "previous_status": previous_status,
    }


def body(message_id: str, event_type: str, created_at: datetime, project_id: str, data: dict[str, Any]) -> str:
    return orjson.dumps({
        "id": message_id, "type": event_type, "created_at": _iso(created_at), "project_id": project_id, "data": data,
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


# --- retries ----------------------------------------------------------------------------------

def next_retry(schedule: list[float], tries: int, now: datetime) -> datetime | None:
    """When to try again after the `tries`-th failed attempt; None when the schedule is used up."""
    if tries > len(schedule):
        return None
    return now + timedelta(seconds=schedule[tries - 1])


def should_disable(failing_since: datetime | None, now: datetime, after_hours: float) -> bool:
    return failing_since is not None and now - failing_since >= timedelta(hours=after_hours)

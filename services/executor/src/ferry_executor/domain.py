"""Pure rules of sync jobs: ids, statuses, backoff, windows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid5

from ferry_contracts.envelope import uuid7

ACTIVE = ("scheduled", "queued", "running", "pending_retry")
WAITING = ("scheduled", "queued", "pending_retry")
TERMINAL = ("complete", "failed", "cancelled")


def new_job_id() -> str:
    return "job_" + uuid7().hex


# Namespace of the ids of page events (uuid5 of "<job id>/<page number>").
PAGE_EVENTS = UUID("5b0f3c1e-8d2a-4f57-9e61-3a7c2d9b4e10")


def page_event_id(job_id: str, page: int) -> UUID:
    """The id of a job's n-th page event: the same on every run of that page, so a page published
    again after a crash (before its checkpoint committed) is deduplicated by the records inbox."""
    return uuid5(PAGE_EVENTS, f"{job_id}/{page}")


def new_batch_id() -> str:
    return str(uuid7())


def utcnow() -> datetime:
    return datetime.now(UTC)


def retry_delay(attempt: int, base: float) -> float:
    """Exponential backoff for a job retried after provider failures: base·4^(attempt-1), ≤ 1 h."""
    return min(3600.0, base * (4 ** max(0, attempt - 1)))


def window_start(
    *, full_sync: bool, sync_from: date | None, high_water_mark: datetime | None
) -> datetime | None:
    """Where a run starts asking the provider: never before `sync_from`; incremental runs after
    the high-water mark of the last complete sync; full syncs from `sync_from` (or the start)."""
    floor = datetime.combine(sync_from, datetime.min.time(), UTC) if sync_from else None
    if full_sync or high_water_mark is None:
        return floor
    if floor is None:
        return high_water_mark
    return max(floor, high_water_mark)


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def cutoff(sync_from: date | None) -> datetime | None:
    return datetime.combine(sync_from, datetime.min.time(), UTC) if sync_from else None


def lease_until(seconds: float) -> datetime:
    return utcnow() + timedelta(seconds=seconds)

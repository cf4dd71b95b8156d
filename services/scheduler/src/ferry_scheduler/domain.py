"""Pure scheduling rules and the scheduler's own records (no I/O)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from ferry_contracts.connections import ConnectionChanged, ModelSyncConfig
from ferry_contracts.values import READABLE, ConnectionStatus, Frequency

MINUTES: Final[dict[Frequency, int]] = {
    "HOURLY": 60, "DAILY": 24 * 60, "WEEKLY": 7 * 24 * 60, "MONTHLY": 30 * 24 * 60,
}
# A connection coming back to CONNECTED from one of these catches up at once.
CATCH_UP_FROM: Final[frozenset[ConnectionStatus]] = frozenset(
    {"AUTH_ERROR", "DISCONNECTED", "AUTH_REQUIRED", "CONNECTING"}
)


@dataclass(frozen=True)
class KnownConnection:
    """What the scheduler keeps of a connection: its newest `connection.changed`."""

    connection_id: str
    project_id: str | None
    provider_name: str
    status: str
    full_sync_interval_hours: int
    version: int


@dataclass(frozen=True)
class ScheduleSpec:
    """How one enabled model of a connection should be scheduled."""

    data_model: str
    frequency: str
    interval_minutes: int
    sync_from: date | None
    jitter_seconds: float
    full_sync_hours: int
    paused: bool


@dataclass(frozen=True)
class Schedule:
    data_model: str
    frequency: str
    interval_minutes: int
    next_run_at: datetime
    next_full_sync_at: datetime
    paused: bool
    last_run_at: datetime | None


@dataclass(frozen=True)
class ModelToSync:
    data_model: str
    sync_from: date | None


@dataclass(frozen=True)
class DueSchedule:
    """A schedule claimed to run now; `full` when its periodic full sync is due."""

    connection_id: str
    data_model: str
    sync_from: date | None
    full: bool
    project_id: str | None
    provider_name: str


def interval_minutes(cfg: ModelSyncConfig) -> int:
    if cfg.frequency == "CUSTOM":
        return max(1, int(cfg.interval_minutes or 60))
    return MINUTES[cfg.frequency]


def syncable(cfg: ModelSyncConfig) -> bool:
    """Only models the connection may read are pulled; WRITE-only and DISABLED are not."""
    return cfg.access in READABLE


def jitter_seconds(interval_min: int, fraction: float, cap: float) -> float:
    """The upper bound of the random delay added to a run of this interval."""
    return min(cap, interval_min * 60 * fraction)


def is_stale(known: KnownConnection | None, event: ConnectionChanged) -> bool:
    """An older update arriving late changes nothing."""
    return known is not None and known.version > event.version


def catches_up(known: KnownConnection | None, event: ConnectionChanged) -> bool:
    """Re-connected after a break: sync what changed while the connection was down."""
    return (
        known is not None
        and known.status != "CONNECTED"
        and event.previous_status in CATCH_UP_FROM
    )


def group_due(rows: Iterable[DueSchedule]) -> dict[tuple[str, bool], list[DueSchedule]]:
    """One sync request per connection and kind (incremental or full), in claim order."""
    groups: dict[tuple[str, bool], list[DueSchedule]] = defaultdict(list)
    for row in rows:
        groups[(row.connection_id, row.full)].append(row)
    return dict(groups)

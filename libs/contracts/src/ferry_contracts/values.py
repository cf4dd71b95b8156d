"""Ferry's shared vocabulary, defined once: access levels, statuses, frequencies, triggers.

Every service and library imports these; none spells the values out again.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

Access = Literal["DISABLED", "READ", "WRITE", "READ_WRITE"]
ACCESS_LEVELS: Final[tuple[Access, ...]] = get_args(Access)
# Models with these access levels are pulled from the provider; WRITE-only ones are not.
READABLE: Final[frozenset[Access]] = frozenset({"READ", "READ_WRITE"})
# Models with these access levels take write-back (create and update at the provider).
WRITABLE: Final[frozenset[Access]] = frozenset({"WRITE", "READ_WRITE"})

ConnectionStatus = Literal["AUTH_REQUIRED", "CONNECTING", "CONNECTED", "AUTH_ERROR", "DISCONNECTED"]
CONNECTION_STATUSES: Final[tuple[ConnectionStatus, ...]] = get_args(ConnectionStatus)

Frequency = Literal["HOURLY", "DAILY", "WEEKLY", "MONTHLY", "CUSTOM"]
FREQUENCIES: Final[tuple[Frequency, ...]] = get_args(Frequency)

JobStatus = Literal[
    "scheduled", "queued", "running", "cancelled", "failed", "pending_retry", "complete"
]
JOB_STATUSES: Final[tuple[JobStatus, ...]] = get_args(JobStatus)
# A job in one of these has not finished: no second job of its connection and model starts.
ACTIVE_JOB_STATUSES: Final[tuple[JobStatus, ...]] = (
    "scheduled", "queued", "running", "pending_retry"
)
# How a sync job ended, as `sync.completed` says.
JobOutcome = Literal["complete", "failed", "cancelled"]

# What happened to a record, as `record.changed` says.
RecordAction = Literal["created", "updated", "deleted"]

Trigger = Literal["initial", "schedule", "full_schedule", "manual"]
TRIGGERS: Final[tuple[Trigger, ...]] = get_args(Trigger)

# The public sync status of one data model of a connection.
SyncStatus = Literal["IDLE", "SYNCING", "PAUSED", "ERROR", "DISABLED"]
SYNC_STATUSES: Final[tuple[SyncStatus, ...]] = get_args(SyncStatus)

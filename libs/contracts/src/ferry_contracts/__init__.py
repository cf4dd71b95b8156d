"""Ferry's event contracts: the only code services share about what crosses the bus."""

from .connections import ConnectionChanged, ModelSyncConfig
from .envelope import Envelope, Payload, utcnow, uuid7
from .records import FieldChange, RecordChanged, RecordsEnd, RecordsFetched, RecordsPage
from .sync import (
    ModelSyncRequest,
    SyncCompleted,
    SyncCounts,
    SyncJob,
    SyncJobChanged,
    SyncRequested,
)

__all__ = [
    "ConnectionChanged",
    "Envelope",
    "FieldChange",
    "ModelSyncConfig",
    "ModelSyncRequest",
    "Payload",
    "RecordChanged",
    "RecordsEnd",
    "RecordsFetched",
    "RecordsPage",
    "SyncCompleted",
    "SyncCounts",
    "SyncJob",
    "SyncJobChanged",
    "SyncRequested",
    "utcnow",
    "uuid7",
]

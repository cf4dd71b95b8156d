"""Events about connections: status changes, sync config changes, deletion."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from .envelope import Payload
from .values import Access, ConnectionStatus, Frequency

__all__ = ["Access", "ConnectionChanged", "ConnectionStatus", "Frequency", "ModelSyncConfig"]


class ModelSyncConfig(BaseModel):
    """The resolved sync settings of one data model of one connection."""

    model_config = ConfigDict(frozen=True)

    data_model: str
    frequency: Frequency = "DAILY"
    interval_minutes: int | None = None
    access: Access = "READ"
    sync_from: date | None = None


class ConnectionChanged(Payload):
    """A connection was created, changed status or config, or was deleted (`status=DELETED`)."""

    EVENT_TYPE = "connection.changed"

    connection_id: str
    user_id: str
    provider_name: str
    status: ConnectionStatus | Literal["DELETED"]
    previous_status: ConnectionStatus | None = None
    reason: str = "updated"
    connected_at: datetime | None = None
    disconnected_at: datetime | None = None
    sync_config: list[ModelSyncConfig] = []
    # The data models the end user was asked for, in order (upper case); sync-status lists each
    # one, DISABLED when `sync_config` does not sync it. Empty from senders that predate it.
    requested_data_types: list[str] = []
    full_sync_interval_hours: int = 24
    granted_scopes: list[str] = []
    initial_sync_record_events: bool = False
    # Set when creating the connection connected it at once: the initial sync's batch id, so
    # its job ids (`sync.initial_job_id`) are known before the jobs exist.
    initial_batch_id: str | None = None
    # Bumped on every change of the connection row, so consumers can drop stale updates.
    version: int = 0

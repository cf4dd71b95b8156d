"""Kafka handlers of the executor: a few lines each, the work is in `service.Jobs`."""

from __future__ import annotations

from ferry_contracts.topics import CONNECTION_CHANGED, SYNC_COMPLETED, SYNC_REQUESTED
from ferry_kit.broker import Handler

from .service import Jobs


def handlers(jobs: Jobs) -> dict[str, Handler]:
    return {
        SYNC_REQUESTED: jobs.on_sync_requested,
        SYNC_COMPLETED: jobs.on_sync_completed,
        CONNECTION_CHANGED: jobs.on_connection_changed,
    }

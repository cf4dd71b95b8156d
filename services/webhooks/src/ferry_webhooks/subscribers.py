"""Kafka handlers of the webhooks service."""

from __future__ import annotations

from ferry_contracts.topics import CONNECTION_CHANGED, RECORD_CHANGED, SYNC_COMPLETED
from ferry_kit.broker import Handler

from .service import Webhooks


def handlers(webhooks: Webhooks) -> dict[str, Handler]:
    return {
        CONNECTION_CHANGED: webhooks.on_connection_changed,
        SYNC_COMPLETED: webhooks.on_sync_completed,
        RECORD_CHANGED: webhooks.on_record_changed,
    }

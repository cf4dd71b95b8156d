"""Kafka handlers of the scheduler."""

from __future__ import annotations

from ferry_contracts.topics import CONNECTION_CHANGED
from ferry_kit.broker import Handler

from .service import Scheduler


def handlers(scheduler: Scheduler) -> dict[str, Handler]:
    return {CONNECTION_CHANGED: scheduler.on_connection_changed}

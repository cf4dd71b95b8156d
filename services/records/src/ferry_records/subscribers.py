"""Kafka handlers of the records service."""

from __future__ import annotations

from ferry_contracts.topics import CONNECTION_CHANGED, RECORDS_FETCHED
from ferry_kit.broker import Handler

from .service import Records


def handlers(records: Records) -> dict[str, Handler]:
    return {RECORDS_FETCHED: records.on_records_fetched, CONNECTION_CHANGED: records.on_connection_changed}

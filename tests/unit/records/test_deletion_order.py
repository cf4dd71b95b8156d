"""Deletion events leave in cursor order: `UPDATE ... RETURNING` gives rows in no set order, and
webhooks deliver a connection's events in the order they are emitted."""

from __future__ import annotations

from datetime import UTC, datetime

from ferry_records import domain
from ferry_records.domain import Deleted


def test_deletion_events_are_in_cursor_order():
    now = datetime.now(UTC)
    gone = [Deleted(f"r{p}", p, now) for p in (50874, 50867, 50881)]
    events = domain.deletion_events("CONTACTS", "j", gone)
    cursors = [e.cursor for e in events]
    assert [e.record_id for e in events] == ["r50867", "r50874", "r50881"], cursors

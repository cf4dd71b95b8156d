"""Deletion events leave in cursor order: `UPDATE ... RETURNING` gives rows in no set order, and
webhooks deliver a connection's events in the order they are emitted."""

from __future__ import annotations

from datetime import UTC, datetime

from ferry_records.service import Records
from ferry_records.settings import Settings


def test_deletion_events_are_in_cursor_order():
    records = Records(Settings(internal_token="t" * 16), None)  # type: ignore[arg-type]
    now = datetime.now(UTC)
    gone = [{"record_id": f"r{p}", "position": p, "modified_at": now} for p in (50874, 50867, 50881)]
    events = records._deletions("p", "c", "CONTACTS", "j", gone)  # type: ignore[arg-type]
    cursors = [e.data.cursor for e in events]
    assert [e.data.record_id for e in events] == ["r50867", "r50874", "r50881"], cursors

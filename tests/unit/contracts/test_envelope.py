"""Event ids: UUIDs of version 7, in the order they are made."""

from __future__ import annotations

from uuid import UUID

from ferry_contracts import uuid7


def test_event_ids_are_version_7_and_sort_by_creation():
    ids = [uuid7() for _ in range(1000)]
    assert all(type(i) is UUID and i.version == 7 and i.variant == "specified in RFC 4122"
               for i in ids)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert UUID(str(ids[0])) == ids[0]

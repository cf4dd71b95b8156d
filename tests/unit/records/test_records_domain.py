"""Pure rules of the records service."""

from __future__ import annotations

from ferry_records import domain


def test_key_order_does_not_change_the_canonical_form():
    a = {"id": "1", "name": "Ada", "tags": {"x": 1, "y": [1, 2]}}
    b = {"tags": {"y": [1, 2], "x": 1}, "name": "Ada", "id": "1"}
    assert domain.canonical(a) == domain.canonical(b)
    assert domain.canonical(a) != domain.canonical({**a, "name": "Augusta"})


def test_changed_fields_lists_top_level_differences_with_old_and_new_values():
    old = {"id": "1", "name": "Ada", "email": "a@x", "meta": {"a": 1, "b": 2}}
    new = {"id": "1", "name": "Augusta", "meta": {"b": 2, "a": 1}, "phone": "123"}
    assert domain.changed_fields(old, new) == {
        "name": {"old": "Ada", "new": "Augusta"},
        "email": {"old": "a@x", "new": None},
        "phone": {"old": None, "new": "123"},
    }


def test_cursors_round_trip_and_foreign_strings_are_refused():
    assert domain.decode_cursor(domain.encode_cursor(12345)) == 12345
    assert domain.decode_cursor("bm90IGEgY3Vyc29y") is None
    assert domain.decode_cursor("%%%") is None


def test_the_guard_holds_only_large_shares_of_a_model():
    assert domain.should_hold(60, 100, 0.5, 10)
    assert not domain.should_hold(50, 100, 0.5, 10)
    assert not domain.should_hold(3, 4, 0.5, 10)  # tiny models lose records normally


def test_the_guard_holds_a_deletion_of_every_record_of_a_small_model():
    # An empty full sync of a model of 10 must not wipe it: below the minimum, all is still held.
    assert domain.should_hold(10, 10, 0.5, 10)
    assert domain.should_hold(1, 1, 0.5, 10)
    assert not domain.should_hold(9, 10, 0.5, 10)
    assert not domain.should_hold(0, 0, 0.5, 10)


def test_the_content_hash_ignores_key_order_at_every_depth_and_sees_a_changed_value():
    a = {"id": "1", "name": "Ada", "address": {"city": "London", "zip": "N1"}}
    b = {"address": {"zip": "N1", "city": "London"}, "name": "Ada", "id": "1"}
    assert domain.content_hash(a) == domain.content_hash(b)
    assert domain.content_hash(a)[1] != domain.content_hash({**a, "name": "Grace"})[1]
    assert len(domain.content_hash(a)[1]) == 16  # the probe slices hashes 16 bytes at a time


def test_the_content_hash_takes_integers_beyond_64_bits():
    raw, digest = domain.content_hash({"id": "1", "big": 2**70})
    assert raw == b'{"big":1180591620717411303424,"id":"1"}' and len(digest) == 16


def test_the_content_hash_drops_nul_characters_in_place_and_leaves_an_escaped_backslash_u_alone():
    record = {"id": "1", "a\x00": ["x\x00y", {"b": "\x00"}]}
    raw, digest = domain.content_hash(record)
    assert record == {"id": "1", "a": ["xy", {"b": ""}]}
    assert (raw, digest) == domain.content_hash({"id": "1", "a": ["xy", {"b": ""}]})
    literal = {"id": "2", "text": "\\u0000 is how JSON writes NUL"}  # a backslash, not a NUL
    assert domain.content_hash(dict(literal))[0] == domain.canonical(literal)


def test_a_change_event_is_a_keyed_envelope_with_the_diff_that_survives_the_wire():
    from datetime import UTC, datetime

    from ferry_contracts.records import FieldChange, RecordsPage
    from ferry_contracts.topics import dump, parse

    page = RecordsPage(job_id="j1", data_model="contacts", page=1, records=[],
                       is_initial_sync=False, full_sync=False)
    now = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)
    old, new = {"id": "c1", "name": "Ada", "n": 1}, {"id": "c1", "name": "Augusta", "n": 1}
    written = domain.Written("c1", "updated", 42, now, old)
    encoded = domain.change_event("CONTACTS", page, written, new, project_id="p1",
                                  connection_id="con_1")
    event = parse(encoded.value, "record.changed")
    assert (event.id, event.type, event.connection_id) == (
        encoded.id, encoded.type, encoded.connection_id)
    assert (event.type, event.project_id, event.connection_id) == (
        "record.changed", "p1", "con_1")
    change = event.data
    assert (change.record_id, change.action, change.job_id, change.modified_at) == (
        "c1", "updated", "j1", now)
    assert domain.decode_cursor(change.cursor) == 42 and change.data == new
    assert change.changed_fields == {"name": FieldChange(old="Ada", new="Augusta")}
    assert dump(event) == encoded.value

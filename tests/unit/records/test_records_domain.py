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

"""The sandbox's in-memory records: keyset pages, `updated_since`, seeding and mutation."""

from __future__ import annotations

import pytest
from ferry_sandbox.store import (
    Collection,
    InvalidValue,
    Stamps,
    Store,
    decode_cursor,
    encode_cursor,
    parse_since,
)


class StillClock:
    """A clock that only moves when told to."""

    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def drain(collection: Collection, limit: int, since: str | None = None) -> list[dict]:
    out, after = [], None
    while True:
        rows, after = collection.page(limit=limit, after=after, since=since)
        out += rows
        if after is None:
            return out


def test_paging_2500_records_with_limit_1000_returns_each_once_in_updated_at_then_id_order():
    store = Store(StillClock())
    store.seed("acme", "contacts", 2500)
    collection = store.collection("acme", "contacts")
    sizes, after = [], None
    seen = []
    while True:
        rows, after = collection.page(limit=1000, after=after)
        sizes.append(len(rows))
        seen += rows
        if after is None:
            break
    assert sizes == [1000, 1000, 500]
    assert len({r["id"] for r in seen}) == 2500
    assert [(r["updated_at"], r["id"]) for r in seen] == sorted(
        (r["updated_at"], r["id"]) for r in seen
    )


def test_a_full_last_page_has_no_next_cursor():
    store = Store(StillClock())
    store.seed("acme", "files", 200)
    rows, after = store.collection("acme", "files").page(limit=200)
    assert len(rows) == 200 and after is None


def test_records_changed_during_pagination_come_again_at_the_end_and_unchanged_ones_exactly_once():
    store = Store(StillClock())
    store.seed("acme", "contacts", 30)
    collection = store.collection("acme", "contacts")
    first, after = collection.page(limit=10)
    already_read, not_yet_read = first[3]["id"], collection.all()[25]["id"]
    deleted = collection.all()[20]["id"]
    collection.update(already_read, {"phone": "+1-555-0000"})
    collection.update(not_yet_read, {"phone": "+1-555-1111"})
    collection.delete(deleted)
    rest = drain_from(collection, after, limit=10)
    ids = [r["id"] for r in first + rest]
    assert (
        ids.count(already_read) == 2
        and rest[-2]["id"] == already_read
        and rest[-2]["phone"] == "+1-555-0000"
    )
    assert ids.count(not_yet_read) == 1 and rest[-1]["phone"] == "+1-555-1111"
    assert deleted not in ids
    assert sorted(set(ids)) == sorted(r["id"] for r in collection.all())


def drain_from(collection: Collection, after, limit: int) -> list[dict]:
    out = []
    while after is not None:
        rows, after = collection.page(limit=limit, after=after)
        out += rows
    return out


def test_a_cursor_stays_valid_after_the_record_it_points_at_is_deleted():
    store = Store(StillClock())
    store.seed("acme", "invoices", 10)
    collection = store.collection("acme", "invoices")
    first, after = collection.page(limit=4)
    collection.delete(first[-1]["id"])
    rest = drain_from(collection, after, limit=4)
    assert [r["id"] for r in rest] == [r["id"] for r in collection.all()[3:]]


def test_updated_since_returns_only_records_changed_strictly_after_it():
    clock = StillClock()
    store = Store(clock)
    store.seed("acme", "contacts", 50)
    collection = store.collection("acme", "contacts")
    boundary = collection.all()[-1]["updated_at"]
    clock.now += 60
    changed = [collection.all()[i]["id"] for i in (5, 17, 42)]
    for rid in changed:
        collection.update(rid, {"company": "Changed"})
    assert [r["id"] for r in drain(collection, limit=2, since=boundary)] == changed
    assert drain(collection, limit=100, since=collection.all()[-1]["updated_at"]) == []


def test_stamps_strictly_increase_even_when_the_clock_stands_still_or_goes_back():
    clock = StillClock()
    stamps = Stamps(clock)
    a = stamps.next()
    b, c = stamps.batch(2)
    clock.now -= 10
    d = stamps.next()
    assert a < b < c < d
    assert a.endswith("Z") and len(a) == len("2025-06-15T15:06:40.000000Z")


def test_updated_since_accepts_offsets_and_naive_times_as_utc():
    assert parse_since("2025-01-01T12:00:00+02:00") == "2025-01-01T10:00:00.000000Z"
    assert parse_since("2025-01-01T10:00:00Z") == "2025-01-01T10:00:00.000000Z"
    assert parse_since("2025-01-01T10:00:00") == "2025-01-01T10:00:00.000000Z"
    assert parse_since("2025-01-01T12:00:00 02:00") == "2025-01-01T10:00:00.000000Z"
    with pytest.raises(InvalidValue) as bad:
        parse_since("yesterday")
    assert bad.value.field == "updated_since"


def test_cursors_round_trip_and_foreign_cursors_are_rejected():
    key = ("2025-01-01T10:00:00.000001Z", "con_00ff")
    assert decode_cursor(encode_cursor(key)) == key
    for bad in ("nonsense", encode_cursor(("not-a-time", "x")), "!!!"):
        with pytest.raises(InvalidValue):
            decode_cursor(bad)


def test_seeded_records_carry_each_models_fields_and_unique_prefixed_ids():
    store = Store(StillClock())
    store.seed("acme", "contacts", 20)
    store.seed("acme", "invoices", 20)
    store.seed("acme", "files", 20)
    contacts = store.collection("acme", "contacts").all()
    invoices = store.collection("acme", "invoices").all()
    files = store.collection("acme", "files").all()
    assert set(contacts[0]) == {
        "id",
        "updated_at",
        "first_name",
        "last_name",
        "email",
        "phone",
        "company",
    }
    assert set(invoices[0]) == {
        "id",
        "updated_at",
        "number",
        "amount",
        "currency",
        "status",
        "contact_id",
    }
    assert set(files[0]) == {"id", "updated_at", "name", "size", "mime_type"}
    assert all(r["id"].startswith("con_") for r in contacts)
    assert {i["contact_id"] for i in invoices} <= {c["id"] for c in contacts}
    assert len({r["id"] for r in contacts + invoices + files}) == 60


def test_the_same_account_gets_the_same_generated_values_in_a_fresh_store():
    one, two = Store(StillClock()), Store(StillClock())
    one.seed("acme", "contacts", 5)
    two.seed("acme", "contacts", 5)
    assert one.collection("acme", "contacts").all() == two.collection("acme", "contacts").all()


def test_mutate_updates_and_deletes_distinct_existing_records_and_creates_new_ones():
    store = Store(StillClock())
    store.seed("acme", "contacts", 10)
    before = {r["id"]: r for r in store.collection("acme", "contacts").all()}
    created, updated, deleted = store.mutate("acme", "contacts", 2, 3, 4)
    after = {r["id"]: r for r in store.collection("acme", "contacts").all()}
    assert len(created) == 2 and not set(created) & set(before)
    assert len(updated) == 3 and len(deleted) == 4 and not set(updated) & set(deleted)
    assert set(after) == (set(before) - set(deleted)) | set(created)
    for rid in updated:
        assert after[rid]["email"] != before[rid]["email"]
        assert after[rid]["updated_at"] > max(r["updated_at"] for r in before.values())


def test_mutate_refuses_to_change_more_records_than_exist():
    store = Store(StillClock())
    store.seed("acme", "files", 3)
    with pytest.raises(InvalidValue):
        store.mutate("acme", "files", 0, 2, 2)
    assert len(store.collection("acme", "files")) == 3


def test_a_created_record_ignores_a_client_supplied_id_and_updated_at():
    store = Store(StillClock())
    record = store.collection("acme", "contacts").create(
        {"id": "mine", "updated_at": "1999", "email": "a@b.test"}
    )
    assert record["id"] != "mine" and record["updated_at"] != "1999"
    assert record["email"] == "a@b.test" and record["first_name"] is None


def test_accounts_do_not_see_each_others_records():
    store = Store(StillClock())
    store.seed("acme", "contacts", 3)
    assert store.collection("globex", "contacts").all() == []

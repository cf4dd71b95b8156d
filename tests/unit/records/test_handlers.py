"""The records service's handlers on a fake unit of work: no broker, no database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from ferry_contracts import ConnectionChanged, Envelope
from ferry_contracts.records import RecordChanged, RecordsEnd, RecordsFetched, RecordsPage
from ferry_contracts.sync import SyncCompleted
from ferry_contracts.topics import CONNECTION_CHANGED, RECORDS_FETCHED
from ferry_kit.clock import FixedClock
from ferry_kit.dispatch import consumer_handlers, use_case
from ferry_kit.fake_uow import FakeUnitOfWork
from ferry_records import views
from ferry_records.domain import ConfirmDeletions, decode_cursor
from ferry_records.handlers import HANDLERS, confirm_deletions
from ferry_records.settings import Settings

from .fakes import FakeRepository

CID = "c1"


def contact(i: int, **extra: Any) -> dict[str, Any]:
    return {"id": f"c{i}", "name": f"Contact {i}", **extra}


class Records:
    """The handlers wired as the kit wires them, on fakes."""

    def __init__(self, initial_events: bool = False) -> None:
        self.repo = FakeRepository()
        self.uow = FakeUnitOfWork(self.repo)
        self.clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
        deps = {"clock": self.clock, "settings": Settings(internal_token="t" * 16)}
        handlers = consumer_handlers(HANDLERS, self.uow, deps)
        self.fetched, self.changed = handlers[RECORDS_FETCHED], handlers[CONNECTION_CHANGED]
        self.confirm = use_case(confirm_deletions, self.uow, deps)
        self.jobs = 0

    def sync(self, pages: list[list[dict[str, Any]]], *, full: bool = False,
             initial: bool = False, deleted: list[str] | None = None,
             status: str = "complete", fetched: int | None = None,
             record_events: bool | None = None) -> list[Envelope[Any]]:
        """One job's pages and end marker, as the executor sends them."""
        self.jobs += 1
        job = f"job{self.jobs}"
        events = [self._event(RecordsPage(job_id=job, data_model="contacts", page=n + 1,
                                          records=p, full_sync=full, is_initial_sync=initial,
                                          record_events=record_events,
                                          deleted_ids=deleted or []))
                  for n, p in enumerate(pages)]
        total = sum(map(len, pages)) if fetched is None else fetched
        events.append(self._event(RecordsEnd(
            job_id=job, data_model="contacts", provider_name="sandbox", status=status,
            full_sync=full, is_initial_sync=initial, pages=len(pages), fetched=total)))
        return events

    def _event(self, item: RecordsPage | RecordsEnd) -> Envelope[Any]:
        return Envelope.of(RecordsFetched(item=item), project_id="p1", connection_id=CID)

    def record_events(self) -> list[RecordChanged]:
        return [p for p in self.uow.payloads if isinstance(p, RecordChanged)]

    def completed(self) -> list[SyncCompleted]:
        return [p for p in self.uow.payloads if isinstance(p, SyncCompleted)]


async def test_new_records_are_stored_and_reported_as_created_in_cursor_order():
    svc = Records()
    await svc.fetched(svc.sync([[contact(1), contact(2)], [contact(3)]]))
    changes = svc.record_events()
    assert [(c.record_id, c.action) for c in changes] == [
        ("c1", "created"), ("c2", "created"), ("c3", "created")]
    assert [c.cursor for c in changes] == sorted(c.cursor for c in changes)
    done = svc.completed()[0]
    assert (done.status, done.counts.fetched, done.counts.created) == ("complete", 3, 3)
    assert done.data_model == "CONTACTS" and done.last_synced_at == svc.clock.now()


async def test_consecutive_pages_of_a_job_commit_together_and_the_end_marker_alone():
    svc = Records()
    await svc.fetched(svc.sync([[contact(1)], [contact(2)], [contact(3)]]))
    assert svc.uow.commits == 2


async def test_an_unchanged_record_costs_no_event_and_a_changed_one_carries_its_diff():
    svc = Records()
    await svc.fetched(svc.sync([[contact(1), contact(2)]]))
    before = len(svc.uow.committed)
    await svc.fetched(svc.sync([[contact(1), contact(2, name="Renamed")]]))
    changes = [p for p in svc.uow.payloads[before:] if isinstance(p, RecordChanged)]
    assert [(c.record_id, c.action) for c in changes] == [("c2", "updated")]
    assert changes[0].changed_fields["name"].old == "Contact 2"
    assert changes[0].changed_fields["name"].new == "Renamed"
    assert svc.completed()[-1].counts.unchanged == 1
    versions = await svc.repo.versions(CID, "CONTACTS", "c2")
    assert [v.changes for v in versions] == [{"name": {"old": "Contact 2", "new": "Renamed"}}]


async def test_a_redelivered_page_changes_nothing():
    svc = Records()
    events = svc.sync([[contact(1)]])
    await svc.fetched(events)
    emitted = len(svc.uow.committed)
    await svc.fetched(events)
    assert len(svc.uow.committed) == emitted
    assert svc.repo.jobs["job1"].counts["fetched"] == 1


async def test_an_initial_sync_reports_counts_not_records_unless_the_project_opted_in():
    quiet, loud = Records(), Records()
    opted_in = Envelope.of(ConnectionChanged(
        connection_id=CID, user_id="u", provider_name="sandbox", status="CONNECTED",
        initial_sync_record_events=True, version=1), project_id="p1", connection_id=CID)
    await loud.changed([opted_in])
    for svc in (quiet, loud):
        await svc.fetched(svc.sync([[contact(1)]], initial=True))
    assert quiet.record_events() == [] and quiet.completed()[0].counts.created == 1
    assert [c.record_id for c in loud.record_events()] == ["c1"]


async def test_an_initial_sync_goes_by_the_opt_in_its_pages_carry_over_what_is_remembered():
    early, opted_out = Records(), Records()
    opted_in = Envelope.of(ConnectionChanged(
        connection_id=CID, user_id="u", provider_name="sandbox", status="CONNECTED",
        initial_sync_record_events=True, version=1), project_id="p1", connection_id=CID)
    await opted_out.changed([opted_in])  # remembered as opted in; the sync says otherwise
    # No connection.changed yet: the connection is remembered without the opt-in.
    await early.fetched(early.sync([[contact(1), contact(2)]], initial=True, record_events=True))
    await opted_out.fetched(opted_out.sync([[contact(1)]], initial=True, record_events=False))
    assert [(c.record_id, c.is_initial_sync) for c in early.record_events()] == [
        ("c1", True), ("c2", True)]
    assert opted_out.record_events() == [] and opted_out.completed()[0].counts.created == 1


async def test_a_complete_full_sync_deletes_what_it_did_not_see_in_cursor_order():
    svc = Records()
    await svc.fetched(svc.sync([[contact(i) for i in range(20)]]))
    await svc.fetched(svc.sync([[contact(i) for i in range(17)]], full=True))
    deleted = [c for c in svc.record_events() if c.action == "deleted"]
    assert [c.record_id for c in deleted] == ["c17", "c18", "c19"]
    assert [c.cursor for c in deleted] == sorted(c.cursor for c in deleted)
    assert svc.completed()[-1].counts.deleted == 3


async def test_a_failed_or_partial_sync_deletes_nothing():
    svc = Records()
    await svc.fetched(svc.sync([[contact(i) for i in range(5)]]))
    await svc.fetched(svc.sync([[contact(0)]], full=True, status="failed"))
    # the executor fetched 5, but only 1 arrived: a lost page fails the sync
    await svc.fetched(svc.sync([[contact(0)]], full=True, fetched=5))
    assert [c for c in svc.record_events() if c.action == "deleted"] == []
    lost = svc.completed()[-1]
    assert lost.status == "failed" and lost.error and "4 of the 5" in lost.error


async def test_the_mass_delete_guard_holds_a_wipe_until_the_customer_confirms_it():
    svc = Records()
    await svc.fetched(svc.sync([[contact(i) for i in range(30)]]))
    await svc.fetched(svc.sync([[contact(0)]], full=True))
    done = svc.completed()[-1]
    assert done.held_deletions == 29 and done.counts.deleted == 0
    assert [c for c in svc.record_events() if c.action == "deleted"] == []
    state = await views.sync_state(_reader(svc.repo), CID)
    assert state.data_models[0].held_deletions == 29
    assert await svc.confirm(ConfirmDeletions(CID, "contacts")) == 29
    assert len([c for c in svc.record_events() if c.action == "deleted"]) == 29
    state = await views.sync_state(_reader(svc.repo), CID)
    assert state.data_models[0].held_deletions == 0


async def test_deletions_the_provider_lists_go_through_the_guard_too():
    svc = Records()
    await svc.fetched(svc.sync([[contact(i) for i in range(30)]]))
    await svc.fetched(svc.sync([[contact(0)]], deleted=["c1", "c2"]))
    assert [c.record_id for c in svc.record_events() if c.action == "deleted"] == ["c1", "c2"]
    await svc.fetched(svc.sync([[]], deleted=[f"c{i}" for i in range(3, 30)]))
    assert len([c for c in svc.record_events() if c.action == "deleted"]) == 2


async def test_pages_of_a_deleted_connection_are_dropped():
    svc = Records()
    await svc.fetched(svc.sync([[contact(1)]]))
    await svc.changed([Envelope.of(ConnectionChanged(
        connection_id=CID, user_id="u", provider_name="sandbox", status="DELETED", version=2),
        project_id="p1", connection_id=CID)])
    emitted = len(svc.uow.committed)
    await svc.fetched(svc.sync([[contact(2)]]))
    assert len(svc.uow.committed) == emitted and svc.repo.rows == {}


async def test_the_records_page_follows_the_cursor_and_reports_more():
    svc = Records()
    await svc.fetched(svc.sync([[contact(i) for i in range(3)]]))
    read = _reader(svc.repo)
    first = await views.records_page(read, CID, "contacts", views.RecordsQuery(limit="2"))
    assert [r.id for r in first.records] == ["c0", "c1"] and first.has_more
    rest = await views.records_page(read, CID, "contacts",
                                    views.RecordsQuery(cursor=first.next_cursor))
    assert [r.id for r in rest.records] == ["c2"] and not rest.has_more
    body = rest.model_dump(mode="json")
    assert body["records"][0]["_ferry"]["action"] == "created"


def _reader(repo: FakeRepository) -> views.Reader:
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def read():  # type: ignore[no-untyped-def]
        yield repo

    return read


async def test_a_group_of_several_chunks_reports_new_and_changed_records_in_cursor_order():
    svc = Records()
    await svc.fetched(svc.sync([[contact(i) for i in range(0, 2400, 2)]]))
    before = len(svc.uow.committed)
    # Every third record changes, and the odd ones are new: three chunks of both kinds.
    page = [contact(i, name="Renamed") if i % 3 == 0 else contact(i) for i in range(2400)]
    await svc.fetched(svc.sync([page[:1200], page[1200:]]))
    changes = [p for p in svc.uow.payloads[before:] if isinstance(p, RecordChanged)]
    expected = [(f"c{i}", "created" if i % 2 else "updated") for i in range(2400)
                if i % 2 or i % 3 == 0]
    assert [(c.record_id, c.action) for c in changes] == expected
    positions = [decode_cursor(c.cursor) for c in changes]
    assert positions == sorted(positions)
    assert all(c.changed_fields["name"].new == "Renamed" for c in changes
               if c.action == "updated")
    counts = svc.completed()[-1].counts
    assert (counts.created, counts.updated, counts.unchanged) == (1200, 400, 800)
    # every update has its version, stored between the chunks or after the last, once
    updated = [c for c in changes if c.action == "updated"]
    stored = {c.record_id: await svc.repo.versions(CID, "CONTACTS", c.record_id)
              for c in updated}
    assert all([v.position for v in stored[c.record_id]] == [decode_cursor(c.cursor)]
               for c in updated)


async def test_a_write_failing_mid_group_fails_the_group_and_leaves_nothing_waiting():
    import asyncio

    svc = Records()
    calls = 0
    insert = svc.repo.insert_new

    async def failing(new):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        if calls == 1:
            await asyncio.sleep(0.1)  # a slow Postgres: the service hashes ahead meanwhile
            raise OSError("connection lost")
        await insert(new)

    svc.repo.insert_new = failing  # type: ignore[method-assign]
    pages = svc.sync([[contact(i) for i in range(n, n + 1000)] for n in range(0, 10_000, 1000)],
                     full=True)
    with pytest.raises(OSError, match="connection lost"):
        await asyncio.wait_for(svc.fetched(pages[:-1]), timeout=10)
    assert svc.uow.committed == [] and svc.uow.rollbacks == 1
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []


async def test_a_first_sync_probes_the_first_chunk_of_a_group_only():
    svc = Records()
    await svc.fetched(svc.sync([[contact(i) for i in range(n, n + 1000)]
                                for n in range(0, 5000, 1000)], initial=True))
    assert (svc.repo.probes, svc.repo.guessed) == (1, 4)
    counts = svc.completed()[-1].counts
    assert (counts.fetched, counts.created, counts.unchanged) == (5000, 5000, 0)
    positions = sorted(r.position for r in svc.repo.rows.values())
    assert len(svc.repo.rows) == 5000 and positions == list(range(positions[0],
                                                                  positions[0] + 5000))


async def test_a_chunk_taken_to_be_new_that_holds_a_stored_record_is_probed_and_written_as_usual():
    svc = Records()
    await svc.fetched(svc.sync([[contact(2500, name="Before"), contact(3700)]], initial=True))
    svc.repo.probes = svc.repo.guessed = 0
    # A full sync whose first chunk is all new: the next chunks are taken to be new, but the
    # third holds c2500 (changed) and the fourth c3700 (unchanged), which have rows.
    await svc.fetched(svc.sync([[contact(i) for i in range(n, n + 1000)]
                                for n in range(0, 5000, 1000)], full=True))
    assert svc.repo.guessed == 2  # the second chunk, then the third (undone)
    assert svc.repo.probes == 4  # the first, the third after its COPY was undone, then the rest
    counts = svc.completed()[-1].counts
    assert (counts.fetched, counts.created, counts.updated, counts.unchanged) == (
        5000, 4998, 1, 1)
    assert counts.deleted == 0  # the unchanged c3700 was noted as seen
    assert svc.repo.rows[(CID, "CONTACTS", "c2500")].data["name"] == "Contact 2500"
    assert len(svc.repo.rows) == 5000
    updated = [c for c in svc.record_events() if c.action == "updated"]
    assert [c.record_id for c in updated] == ["c2500"]

"""The records service over the real broker and Postgres: ingest, change detection, deletions,
the mass-delete guard, the cursor API, purge."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from ferry_contracts import ConnectionChanged, Envelope
from ferry_contracts.records import RecordsEnd, RecordsFetched, RecordsPage
from ferry_contracts.topics import (
    CONNECTION_CHANGED,
    RECORD_CHANGED,
    RECORDS_FETCHED,
    SYNC_COMPLETED,
    dump,
)
from ferry_kit.infra import free_port
from support.kafka import Collector, publish


@pytest.fixture(scope="module")
async def records_service(infra, service_env):
    from ferry_records.bootstrap import start, stop
    from ferry_records.settings import Settings

    port = free_port()
    service = await start(Settings(records_port=port))
    http = httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}",
        headers={"x-ferry-internal-token": service_env["FERRY_INTERNAL_TOKEN"]},
    )
    yield http
    await http.aclose()
    await stop(service)


def contact(i: int, day: int = 1, **extra) -> dict:
    return {
        "id": f"c{i}",
        "name": f"Contact {i}",
        "email": f"c{i}@example.com",
        "updated_at": datetime(2026, 3, day, tzinfo=UTC).isoformat(),
        **extra,
    }


class Sync:
    """Publishes one job's pages and end marker the way the executor does."""

    def __init__(
        self,
        infra,
        cid: str,
        *,
        full: bool = False,
        initial: bool = False,
        sync_from: date | None = None,
        record_events: bool | None = None,
    ):
        self.infra, self.cid, self.full, self.initial, self.sync_from = (
            infra,
            cid,
            full,
            initial,
            sync_from,
        )
        self.record_events = record_events
        self.job_id = "job_" + secrets.token_hex(6)
        self.pages = 0
        self.events: list[Envelope] = []
        self.started = datetime.now(UTC)

    def page(self, records: list[dict]) -> Envelope:
        self.pages += 1
        e = Envelope.of(
            RecordsFetched(
                item=RecordsPage(
                    job_id=self.job_id,
                    data_model="CONTACTS",
                    page=self.pages,
                    records=records,
                    is_initial_sync=self.initial,
                    record_events=self.record_events,
                    full_sync=self.full,
                )
            ),
            project_id="p-rec",
            connection_id=self.cid,
        )
        self.events.append(e)
        return e

    def end(self, status: str = "complete", fetched: int = 0) -> Envelope:
        e = Envelope.of(
            RecordsFetched(
                item=RecordsEnd(
                    job_id=self.job_id,
                    batch_id="b",
                    data_model="CONTACTS",
                    provider_name="sandbox",
                    status=status,
                    full_sync=self.full,
                    is_initial_sync=self.initial,
                    sync_from=self.sync_from,
                    pages=self.pages,
                    fetched=fetched,
                    started_at=self.started,
                )
            ),
            project_id="p-rec",
            connection_id=self.cid,
        )
        self.events.append(e)
        return e

    async def run(
        self, pages: list[list[dict]], status: str = "complete", timeout: float = 30
    ) -> Envelope:
        async with Collector(
            self.infra.bootstrap, SYNC_COMPLETED, lambda e: e.data.job_id == self.job_id
        ) as done:
            await publish(
                self.infra.bootstrap,
                RECORDS_FETCHED,
                [self.page(p) for p in pages] + [self.end(status)],
            )
            return (await done.wait(1, timeout))[0]


async def _records(api: httpx.AsyncClient, cid: str, **params) -> dict:
    resp = await api.get(f"/internal/connections/{cid}/records/CONTACTS", params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def _all(api, cid, cursor=None, **params) -> tuple[list[dict], str]:
    out = []
    while True:
        page = await _records(
            api, cid, limit=1000, **({"cursor": cursor} if cursor else {}), **params
        )
        out += page["records"]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return out, cursor


def _cid() -> str:
    return "con_rec_" + secrets.token_hex(4)


async def test_an_initial_sync_stores_every_record_and_reports_counts_without_per_record_events(
    infra, records_service
):
    cid = _cid()
    async with Collector(
        infra.bootstrap, RECORD_CHANGED, lambda e: e.connection_id == cid
    ) as changes:
        done = await Sync(infra, cid, full=True, initial=True).run(
            [[contact(i) for i in range(500)], [contact(i) for i in range(500, 700)]]
        )
        await asyncio.sleep(0.5)
        assert changes.events == []
    assert done.data.status == "complete" and done.data.is_initial_sync
    assert done.data.counts.model_dump() == {
        "fetched": 700,
        "created": 700,
        "updated": 0,
        "deleted": 0,
        "unchanged": 0,
    }
    records, _ = await _all(records_service, cid)
    assert len(records) == 700 and records[0]["_ferry"]["action"] == "created"
    state = (await records_service.get(f"/internal/connections/{cid}/sync-state")).json()[
        "data_models"
    ]
    assert (
        state[0]["data_model"] == "CONTACTS"
        and state[0]["last_status"] == "complete"
        and state[0]["last_synced_at"]
    )


async def test_an_initial_sync_that_carries_the_opt_in_emits_each_record_before_its_connection(
    infra, records_service, pg
):
    # Its connection.changed has not come (another consumer, a moved partition): the sync's own
    # pages carry the project's opt-in, so nothing waits for it.
    cid = _cid()
    async with Collector(
        infra.bootstrap, RECORD_CHANGED, lambda e: e.connection_id == cid
    ) as changes:
        done = await Sync(infra, cid, full=True, initial=True, record_events=True).run(
            [[contact(i) for i in range(20)], [contact(i) for i in range(20, 30)]]
        )
        events = await changes.wait(30, 30)
    assert done.data.status == "complete" and done.data.counts.created == 30
    assert sorted(e.data.record_id for e in events) == sorted(f"c{i}" for i in range(30))
    assert all(e.data.action == "created" and e.data.is_initial_sync for e in events)
    assert await pg.fetchval(
        "SELECT initial_sync_record_events FROM records.connections WHERE connection_id=$1", cid
    ) is False  # what it remembers of the connection did not decide


async def test_an_initial_sync_that_carries_no_opt_in_is_quiet_whatever_was_remembered(
    infra, records_service, pg
):
    cid = _cid()
    opted_in = Envelope.of(
        ConnectionChanged(
            connection_id=cid, user_id="u", provider_name="sandbox", status="CONNECTED",
            initial_sync_record_events=True, version=1,
        ),
        project_id="p-rec",
        connection_id=cid,
    )
    await publish(infra.bootstrap, CONNECTION_CHANGED, [opted_in])
    for _ in range(100):
        if await pg.fetchval(
            "SELECT initial_sync_record_events FROM records.connections WHERE connection_id=$1",
            cid,
        ):
            break
        await asyncio.sleep(0.1)
    else:
        pytest.fail("the connection.changed was not taken")
    async with Collector(
        infra.bootstrap, RECORD_CHANGED, lambda e: e.connection_id == cid
    ) as changes:
        done = await Sync(infra, cid, full=True, initial=True, record_events=False).run(
            [[contact(i) for i in range(30)]]
        )
        await asyncio.sleep(1.0)
        assert changes.events == []
    assert done.data.status == "complete" and done.data.counts.created == 30


async def test_a_redelivered_page_changes_nothing_and_reordered_keys_are_not_a_change(
    infra, records_service, pg
):
    cid = _cid()
    sync = Sync(infra, cid)
    async with Collector(
        infra.bootstrap, RECORD_CHANGED, lambda e: e.connection_id == cid
    ) as changes:
        first = sync.page([contact(i) for i in range(10)])
        await publish(infra.bootstrap, RECORDS_FETCHED, [first, first])  # the same event twice
        await changes.wait(10)
        reordered = [dict(reversed(list(contact(i).items()))) for i in range(10)]
        await sync.run([reordered])
        await asyncio.sleep(0.5)
        assert len(changes.events) == 10 and {e.data.action for e in changes.events} == {"created"}
    versions = await pg.fetch("SELECT version FROM records.records WHERE connection_id=$1", cid)
    assert [v["version"] for v in versions] == [1] * 10
    counts = await pg.fetchrow("SELECT * FROM records.jobs WHERE job_id=$1", sync.job_id)
    assert (counts["created"], counts["unchanged"]) == (10, 10)


async def test_updates_carry_changed_fields_and_move_to_the_end_of_the_cursor(
    infra, records_service
):
    cid = _cid()
    await Sync(infra, cid).run([[contact(i) for i in range(5)]])
    _, cursor = await _all(records_service, cid)
    async with Collector(
        infra.bootstrap,
        RECORD_CHANGED,
        lambda e: e.connection_id == cid and e.data.action == "updated",
    ) as changes:
        done = await Sync(infra, cid).run([[contact(2, day=2, name="Renamed"), contact(3)]])
        [update] = await changes.wait(1)
    assert done.data.counts.updated == 1 and done.data.counts.unchanged == 1
    assert update.data.record_id == "c2"
    assert update.data.changed_fields["name"].model_dump() == {"old": "Contact 2", "new": "Renamed"}
    assert set(update.data.changed_fields) == {"name", "updated_at"}
    since, _ = await _all(records_service, cid, cursor)
    assert [(r["id"], r["_ferry"]["action"]) for r in since] == [("c2", "updated")]
    assert since[0]["_ferry"]["cursor"] == update.data.cursor


async def test_a_full_sync_that_sees_every_record_writes_no_record_row(infra, records_service, pg):
    cid = _cid()
    rows = [contact(i) for i in range(300)]
    await Sync(infra, cid, full=True, initial=True).run([rows])
    before = await pg.fetch(
        "SELECT record_id, xmin::text AS x FROM records.records WHERE connection_id=$1 ORDER BY 1",
        cid,
    )
    done = await Sync(infra, cid, full=True).run([rows[:150], rows[150:]])
    after = await pg.fetch(
        "SELECT record_id, xmin::text AS x FROM records.records WHERE connection_id=$1 ORDER BY 1",
        cid,
    )
    assert before == after  # not one tuple rewritten
    assert done.data.counts.model_dump() == {
        "fetched": 300,
        "created": 0,
        "updated": 0,
        "deleted": 0,
        "unchanged": 300,
    }


async def test_a_full_sync_whose_unprobed_chunk_holds_stored_records_undoes_only_that_copy(
    infra, records_service, pg
):
    # One page of five chunks: the first is all new, so the rest are COPYed unprobed; the third
    # holds c2500 (changed) and the fourth c3700 (unchanged), whose rows make their COPY fail.
    cid = _cid()
    await Sync(infra, cid, full=True, initial=True).run([[contact(2500), contact(3700)]])
    page = [contact(i, day=2 if i == 2500 else 1) for i in range(5000)]
    done = await Sync(infra, cid, full=True).run([page])
    assert done.data.status == "complete"
    assert done.data.counts.model_dump() == {
        "fetched": 5000, "created": 4998, "updated": 1, "deleted": 0, "unchanged": 1}
    rows = await pg.fetch(
        "SELECT record_id, version, data->>'updated_at' AS at, position, xmin::text AS x"
        " FROM records.records WHERE connection_id=$1", cid)
    assert len(rows) == 5000 and len({r["position"] for r in rows}) == 5000
    by_id = {r["record_id"]: r for r in rows}
    assert (by_id["c2500"]["version"], by_id["c3700"]["version"]) == (2, 1)
    assert by_id["c2500"]["at"].startswith("2026-03-02")
    # The second chunk went in by a savepoint (its rows carry the subtransaction's id), the
    # third by the transaction itself once its guessed COPY was undone, and the rest probed.
    top = by_id["c500"]["x"]
    assert by_id["c1500"]["x"] != top
    assert by_id["c2400"]["x"] == by_id["c4500"]["x"] == top


async def test_an_incremental_sync_of_unchanged_records_rewrites_no_row(
    infra, records_service, pg
):
    # Its pages go to the upsert unprobed: the hash filter alone keeps them as they are.
    cid = _cid()
    rows = [contact(i) for i in range(50)]
    await Sync(infra, cid, full=True, initial=True).run([rows])
    query = "SELECT record_id, xmin::text AS x FROM records.records WHERE connection_id=$1"
    before = await pg.fetch(query + " ORDER BY 1", cid)
    done = await Sync(infra, cid).run([rows[:30], [contact(30, day=2)] + rows[31:]])
    after = {r["record_id"]: r["x"] for r in await pg.fetch(query, cid)}
    assert [(r["record_id"], after[r["record_id"]] == r["x"]) for r in before] == [
        (r["record_id"], r["record_id"] != "c30") for r in before]
    assert (done.data.counts.updated, done.data.counts.unchanged) == (1, 49)


async def test_deletions_happen_only_after_complete_full_syncs_and_only_inside_the_window(
    infra, records_service
):
    cid = _cid()
    old = [contact(i, day=1) for i in range(20)]  # updated 2026-03-01
    recent = [contact(i, day=20) for i in range(20, 40)]  # updated 2026-03-20
    await Sync(infra, cid, full=True, initial=True).run([old + recent])
    keep = old[:15] + recent[:15]  # 5 old and 5 recent gone at the provider

    incremental = await Sync(infra, cid).run([keep])
    failed_full = await Sync(infra, cid, full=True).run([keep], status="failed")
    assert incremental.data.counts.deleted == 0 and failed_full.data.counts.deleted == 0
    assert failed_full.data.status == "failed"

    async with Collector(
        infra.bootstrap,
        RECORD_CHANGED,
        lambda e: e.connection_id == cid and e.data.action == "deleted",
    ) as gone:
        windowed = await Sync(infra, cid, full=True, sync_from=date(2026, 3, 10)).run([recent[:15]])
        await gone.wait(5)
    assert windowed.data.counts.deleted == 5
    assert sorted(e.data.record_id for e in gone.events) == sorted(r["id"] for r in recent[15:])
    live, _ = await _all(records_service, cid)
    assert len(live) == 35  # the 5 old ones outside the window stay


async def test_a_full_sync_deletes_exactly_the_unseen_records_not_those_it_created_or_changed(
    infra, records_service
):
    """Unchanged records are noted as seen; created and changed ones count as seen by their cursor
    position. Pages overlap (a record on two pages), as providers' pagination may."""
    cid = _cid()
    await Sync(infra, cid, full=True, initial=True).run([[contact(i) for i in range(100)]])
    unchanged = [contact(i) for i in range(0, 60)]
    changed = [
        contact(i, name=f"Renamed {i}") for i in range(60, 90)
    ]  # 90..99 gone at the provider
    created = [contact(i) for i in range(100, 105)]
    pages = [
        unchanged[:40] + changed[:10],
        unchanged[35:] + changed[10:] + created,
    ]  # c35..c39 twice
    async with Collector(
        infra.bootstrap, RECORD_CHANGED, lambda e: e.connection_id == cid
    ) as events:
        full = Sync(infra, cid, full=True)
        # The executor's clock runs ahead of Postgres's: the job's start time alone would call
        # the records this job wrote "older than the job"; their cursor position says otherwise.
        full.started = datetime.now(UTC) + timedelta(minutes=5)
        done = await full.run(pages)
        await events.wait(5 + 30 + 10)
    counts = done.data.counts
    assert (counts.created, counts.updated, counts.deleted) == (5, 30, 10)
    by_action = {
        a: sorted(e.data.record_id for e in events.events if e.data.action == a)
        for a in ("created", "updated", "deleted")
    }
    assert by_action == {
        "created": sorted(f"c{i}" for i in range(100, 105)),
        "updated": sorted(f"c{i}" for i in range(60, 90)),
        "deleted": sorted(f"c{i}" for i in range(90, 100)),
    }
    live, _ = await _all(records_service, cid)
    assert len(live) == 95


async def test_a_deleted_record_that_comes_back_is_created_again_beside_new_ones(
    infra, records_service, pg
):
    """New ids are copied in; a deleted one that reappears is rewritten (same id, next version).
    Both get `created` events whose cursor and time are the ones the records API shows."""
    cid = _cid()
    await Sync(infra, cid, full=True, initial=True).run([[contact(i) for i in range(10)]])
    gone = await Sync(infra, cid, full=True).run([[contact(i) for i in range(9)]])
    assert gone.data.counts.deleted == 1
    async with Collector(
        infra.bootstrap,
        RECORD_CHANGED,
        lambda e: e.connection_id == cid and e.data.action == "created",
    ) as changes:
        done = await Sync(infra, cid).run([[contact(9), contact(10), contact(4)]])
        events = await changes.wait(2)
    assert (done.data.counts.created, done.data.counts.unchanged) == (2, 1)
    live, _ = await _all(records_service, cid)
    shown = {r["id"]: r["_ferry"] for r in live}
    assert sorted(e.data.record_id for e in events) == ["c10", "c9"]
    for e in events:
        assert (
            shown[e.data.record_id]["action"] == "created"
            and shown[e.data.record_id]["cursor"] == e.data.cursor
        )
        assert datetime.fromisoformat(shown[e.data.record_id]["modified_at"]) == e.data.modified_at
    versions = dict(
        await pg.fetch(
            "SELECT record_id, version FROM records.records WHERE connection_id=$1 "
            "AND record_id IN ('c9', 'c10')",
            cid,
        )
    )
    assert versions == {"c9": 3, "c10": 1}  # created, deleted, created again


async def test_a_large_page_is_written_in_chunks_without_losing_a_change_at_their_edges(
    infra, records_service
):
    """6,000 records in one page are hashed and written in chunks of 2,500 (the ingest pipeline).
    Changes, new records and gaps sit on the chunks' edges."""
    cid = _cid()
    first = await Sync(infra, cid, full=True, initial=True).run(
        [[contact(i) for i in range(6000)]], timeout=60
    )
    assert first.data.counts.created == 6000
    records, cursor = await _all(records_service, cid)
    assert len({r["_ferry"]["cursor"] for r in records}) == 6000

    changed = {0, 2499, 2500, 4999, 5000, 5999}
    gone = {1, 2498, 2501, 5998}
    page = [
        contact(i, name="Renamed") if i in changed else contact(i)
        for i in range(6000)
        if i not in gone
    ]
    page[2497:2497] = [contact(i) for i in range(6000, 6006)]  # new ones across the first edge
    async with Collector(
        infra.bootstrap, RECORD_CHANGED, lambda e: e.connection_id == cid
    ) as events:
        done = await Sync(infra, cid, full=True).run([page], timeout=60)
        await events.wait(6 + 6 + 4)
    assert done.data.counts.model_dump() == {
        "fetched": 6002,
        "created": 6,
        "updated": 6,
        "deleted": 4,
        "unchanged": 5990,
    }
    by_action = {
        a: sorted(e.data.record_id for e in events.events if e.data.action == a)
        for a in ("created", "updated", "deleted")
    }
    assert by_action == {
        "created": sorted(f"c{i}" for i in range(6000, 6006)),
        "updated": sorted(f"c{i}" for i in changed),
        "deleted": sorted(f"c{i}" for i in gone),
    }
    since, _ = await _all(records_service, cid, cursor, include_deleted="true")
    assert [(r["id"], r["_ferry"]["cursor"]) for r in since] == [
        (e.data.record_id, e.data.cursor) for e in events.events
    ]


async def _sync_with_a_lost_page(infra, cid: str, full: bool) -> Envelope:
    """Two pages of 10 and an end marker saying 20 were fetched; the second page cannot be
    parsed and goes to the dead-letter topic."""
    sync = Sync(infra, cid, full=full)
    good = sync.page([contact(i, day=5) for i in range(10)])
    lost = dump(sync.page([contact(i, day=5) for i in range(10, 20)]))
    broken = lost.replace(b'"records":[', b'"records":[7,', 1)
    mine = lambda e: e.data.job_id == sync.job_id  # noqa: E731
    async with Collector(infra.bootstrap, SYNC_COMPLETED, mine) as done:
        producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap)
        await producer.start()
        try:
            for value in (dump(good), broken, dump(sync.end(fetched=20))):
                await producer.send_and_wait(RECORDS_FETCHED, value, key=cid.encode())
        finally:
            await producer.stop()
        [completed] = await done.wait(1, 30)
    return completed


async def test_a_full_sync_with_a_page_that_could_not_be_stored_fails_and_deletes_nothing(
    infra, records_service
):
    """A page that reaches the dead-letter topic was not seen: its records are not deletions."""
    cid = _cid()
    await Sync(infra, cid, full=True, initial=True).run([[contact(i) for i in range(20)]])
    completed = await _sync_with_a_lost_page(infra, cid, full=True)
    assert completed.data.status == "failed" and completed.data.counts.deleted == 0
    assert completed.data.error and "10 of the 20 records" in completed.data.error
    live, _ = await _all(records_service, cid)
    assert len(live) == 20


async def test_an_incremental_sync_with_a_lost_page_fails_so_its_high_water_mark_stays(
    infra, records_service
):
    """Reported complete, the executor would move the mark past the lost page's records and no
    later incremental sync would ask for them again."""
    cid = _cid()
    completed = await _sync_with_a_lost_page(infra, cid, full=False)
    assert completed.data.status == "failed" and completed.data.last_synced_at is None
    assert completed.data.error and "10 of the 20 records" in completed.data.error
    resp = await records_service.get(f"/internal/connections/{cid}/sync-state")
    assert resp.json()["data_models"][0]["last_status"] == "failed"


async def test_nul_characters_are_dropped_so_the_record_is_stored(infra, records_service):
    """Postgres stores no NUL in jsonb: it is removed from values and keys, the id included."""
    cid = _cid()
    odd = {
        "id": "c\x001",
        "name": "Ada\x00 Lovelace",
        "tags": ["a\x00b"],
        "nested": {"k\x00ey": "v"},
    }
    first = await Sync(infra, cid).run([[odd]])
    again = await Sync(infra, cid).run([[{**odd, "tags": ["a\x00b"], "nested": {"k\x00ey": "v"}}]])
    assert (first.data.counts.created, again.data.counts.unchanged) == (1, 1)
    [stored], _ = await _all(records_service, cid)
    assert stored["id"] == "c1" and stored["data"] == {
        "id": "c1",
        "name": "Ada Lovelace",
        "tags": ["ab"],
        "nested": {"key": "v"},
    }


async def test_the_guard_holds_a_60_percent_deletion_until_it_is_confirmed(infra, records_service):
    cid = _cid()
    rows = [contact(i) for i in range(100)]
    await Sync(infra, cid, full=True, initial=True).run([rows])
    done = await Sync(infra, cid, full=True).run([rows[:40]])
    assert done.data.held_deletions == 60 and done.data.counts.deleted == 0
    live, cursor = await _all(records_service, cid)
    assert len(live) == 100
    state = (await records_service.get(f"/internal/connections/{cid}/sync-state")).json()[
        "data_models"
    ][0]
    assert state["held_deletions"] == 60

    async with Collector(
        infra.bootstrap,
        RECORD_CHANGED,
        lambda e: e.connection_id == cid and e.data.action == "deleted",
    ) as gone:
        resp = await records_service.post(
            f"/internal/connections/{cid}/records/CONTACTS/deletions/confirm"
        )
        assert resp.json() == {"deleted": 60}
        await gone.wait(60)
    since, _ = await _all(records_service, cid, cursor)
    assert len(since) == 60 and {r["_ferry"]["action"] for r in since} == {"deleted"}
    assert all(r["_ferry"]["deleted_at"] for r in since)
    live, _ = await _all(records_service, cid)
    assert len(live) == 40
    again = await records_service.post(
        f"/internal/connections/{cid}/records/CONTACTS/deletions/confirm"
    )
    assert again.json() == {"deleted": 0}


async def test_the_records_api_validates_its_parameters_naming_the_field(records_service):
    cid = _cid()
    for params, field in (
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"cursor": "nope"}, "cursor"),
        ({"modified_after": "yesterday"}, "modified_after"),
        ({"include_deleted": "maybe"}, "include_deleted"),
    ):
        resp = await records_service.get(
            f"/internal/connections/{cid}/records/CONTACTS", params=params
        )
        assert resp.status_code == 422 and resp.json()["error"]["details"][0]["field"] == field
    empty = await _records(records_service, cid)
    assert empty["records"] == [] and empty["next_cursor"] and empty["has_more"] is False


async def test_a_deleted_connection_is_purged_and_late_pages_do_not_bring_it_back(
    infra, records_service, pg
):
    cid = _cid()
    await Sync(infra, cid).run([[contact(i) for i in range(10)]])
    deleted = Envelope.of(
        ConnectionChanged(
            connection_id=cid, user_id="u", provider_name="sandbox", status="DELETED", version=9
        ),
        project_id="p-rec",
        connection_id=cid,
    )
    late = Sync(infra, cid)
    await publish(infra.bootstrap, CONNECTION_CHANGED, [deleted])
    for _ in range(100):
        if not await pg.fetchval(
            "SELECT count(*) FROM records.records WHERE connection_id=$1", cid
        ):
            break
        await asyncio.sleep(0.1)
    await publish(infra.bootstrap, RECORDS_FETCHED, [late.page([contact(99)])])
    await asyncio.sleep(1.0)
    assert (
        await pg.fetchval("SELECT count(*) FROM records.records WHERE connection_id=$1", cid) == 0
    )
    assert await pg.fetchval("SELECT count(*) FROM records.jobs WHERE connection_id=$1", cid) == 0


async def test_a_poller_following_next_cursor_in_concurrent_ingest_never_misses_or_repeats_a_change(
    infra, records_service, service_env
):
    """Two writers ingest overlapping updates into one connection while a poller follows the cursor:
    the poller ends up with every record's final version, and never sees one version twice."""
    from ferry_kit import db
    from ferry_kit.clock import SystemClock
    from ferry_kit.dispatch import consumer_handlers
    from ferry_kit.uow import UnitOfWorkFactory
    from ferry_records.handlers import HANDLERS
    from ferry_records.repository import PgRepository
    from ferry_records.settings import Settings

    cid = _cid()
    pool = await db.create_pool(infra.dsn, "records", max_size=4)
    deps = {"clock": SystemClock(), "settings": Settings()}
    writer = consumer_handlers(HANDLERS, UnitOfWorkFactory(pool, PgRepository), deps)

    async def ingest(batch: list[dict]) -> None:
        await writer[RECORDS_FETCHED]([Sync(infra, cid).page(batch)])

    seen: dict[str, str] = {}
    versions: set[tuple[str, str]] = set()
    stop = asyncio.Event()

    async def poll() -> None:
        cursor = None
        while True:
            finished = stop.is_set()
            page = await _records(
                records_service, cid, limit=50, **({"cursor": cursor} if cursor else {})
            )
            for r in page["records"]:
                key = (r["id"], r["data"]["name"])
                assert key not in versions, f"{key} seen twice"
                versions.add(key)
                seen[r["id"]] = r["data"]["name"]
            cursor = page["next_cursor"]
            if finished and not page["has_more"]:
                return
            await asyncio.sleep(0)

    poller = asyncio.create_task(poll())
    final: dict[str, str] = {}
    batches = []
    for round_ in range(6):
        batch = [contact(i, name=f"v{round_}-{i}") for i in range(round_ * 20, round_ * 20 + 80)]
        batches.append(batch)
    await asyncio.gather(*(ingest(b) for b in batches[:3]))
    await asyncio.gather(*(ingest(b) for b in batches[3:]))
    for b in batches:
        for r in b:
            final[r["id"]] = r["name"]
    # The final version of each record is whichever write committed last: read it from the table.
    stored = {
        r["record_id"]: r["data"]["name"]
        for r in await pool.fetch("SELECT record_id, data FROM records WHERE connection_id=$1", cid)
    }
    stop.set()
    await asyncio.wait_for(poller, 30)
    await pool.close()
    assert set(stored) == set(final)
    assert seen == stored

"""The records service prunes its history past the retention, and only that, in real Postgres."""

from __future__ import annotations


async def test_the_records_service_prunes_old_job_counts_and_their_seen_ids(scratch_schema):
    from ferry_records.bootstrap import MIGRATIONS
    from ferry_records.repository import PgRepository

    conn = await scratch_schema(MIGRATIONS)
    await conn.execute(
        "INSERT INTO jobs (job_id, connection_id, data_model, created_at) VALUES "
        "('old', 'c', 'M', now() - interval '31 days'), ('new', 'c', 'M', now())"
    )
    await conn.execute(
        "INSERT INTO seen (job_id, record_ids) VALUES ('old', '{a,b}'), ('new', '{c}')"
    )
    assert await PgRepository(conn).prune_jobs(30) == 1
    assert [r["job_id"] for r in await conn.fetch("SELECT job_id FROM jobs")] == ["new"]
    assert [r["job_id"] for r in await conn.fetch("SELECT job_id FROM seen")] == ["new"]


async def test_new_records_encoded_for_copy_read_back_as_they_were_given(scratch_schema):
    from datetime import UTC, datetime, timedelta, timezone

    from ferry_records import domain
    from ferry_records.bootstrap import MIGRATIONS
    from ferry_records.repository import NewRecords, PgRepository

    conn = await scratch_schema(MIGRATIONS)
    records = [
        {"id": "plain", "n": 1},
        {"id": "tab\there, back\\slash, zoë 😀", "text": "a\nb\\c\"d", "big": 2**63 - 1},
        {"id": "old", "when": [1.5, None, {"x": True}]},
    ]
    times = [datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC),
             datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5))),
             None]
    rows = [(r["id"], *domain.content_hash(r), 10 + i, times[i]) for i, r in enumerate(records)]
    await PgRepository(conn).insert_new(NewRecords.of("con_é", "CONTACTS", rows))
    got = await conn.fetch(
        "SELECT connection_id, data_model, record_id, data, hash, action, position, "
        "provider_updated_at, version, deleted_at FROM records ORDER BY position")
    assert [tuple(r) for r in got] == [
        ("con_é", "CONTACTS", r["id"], r, domain.content_hash(r)[1], "created", 10 + i,
         times[i], 1, None) for i, r in enumerate(records)]


async def test_versions_by_copy_read_back_as_given_and_one_already_stored_is_kept(scratch_schema):
    from ferry_records.bootstrap import MIGRATIONS
    from ferry_records.repository import PgRepository

    conn = await scratch_schema(MIGRATIONS)
    repo = PgRepository(conn)
    odd = {"name": {"old": "tab\there, zoë 😀", "new": None},
           "n": {"old": 2**63 - 1, "new": [1.5, {"x": True}]}}
    async with conn.transaction():  # as the service does: in the unit of work's transaction
        await repo.add_versions("con_é", "CONTACTS", [("a\\b", 7, odd), ("c", 8, {})])
    versions = await repo.versions("con_é", "CONTACTS", "a\\b")
    assert [(v.position, v.changes) for v in versions] == [(7, odd)]
    # A version already stored (none ever is: positions are not reused) fails the COPY in its
    # savepoint; the statement stores the others and leaves the stored one as it was.
    async with conn.transaction():
        await repo.add_versions("con_é", "CONTACTS", [("c", 8, {"x": 1}), ("c", 9, {"y": 2})])
    rows = await conn.fetch("SELECT position, changes FROM record_versions"
                            " WHERE record_id = 'c' ORDER BY position")
    assert [(r["position"], r["changes"]) for r in rows] == [(8, {}), (9, {"y": 2})]

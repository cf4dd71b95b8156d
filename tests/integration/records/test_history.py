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

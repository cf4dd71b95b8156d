"""Executor jobs in real Postgres: a coalesced full-sync request never inherits an incremental
window, an initial sync's say on record events stays on its job, and a job stuck in its
finishing phase ends so its model syncs again."""

from __future__ import annotations

from ferry_executor import handlers
from ferry_executor.bootstrap import MIGRATIONS
from ferry_executor.domain import JobRequest
from ferry_executor.repository import PgRepository
from ferry_executor.settings import Settings
from ferry_kit.db import create_pool
from ferry_kit.dispatch import command
from ferry_kit.uow import UnitOfWorkFactory

PARKED_STATE = {
    "window_start": "2026-03-01T00:00:00+00:00",
    "window_end": "2026-03-02T00:00:00+00:00",
    "full_sync": False,
    "pages": 2,
    "fetched": 200,
    "paging": {"cursor": "p3"},
    "high_water_mark": "2026-03-01T12:00:00+00:00",
    "started_at": "2026-03-02T00:00:00+00:00",
    "failures": 1,
}


async def _park_incremental(conn) -> None:
    await conn.execute(
        "INSERT INTO jobs (id, connection_id, provider_name, data_model, status, pagination_state, "
        "timerange_start, timerange_end) VALUES ('job_parked', 'c', 'sandbox', 'CONTACTS', "
        "'pending_retry', $1, '2026-03-01', '2026-03-02')",
        PARKED_STATE,
    )


async def _request(infra, conn, *, full_sync: bool, **fields):
    schema = await conn.fetchval("SELECT current_schema()")
    pool = await create_pool(infra.dsn, schema, min_size=1, max_size=2)
    request = JobRequest(**{
        **dict(connection_id="c", project_id="p", provider_name="sandbox",
               models=[("CONTACTS", None)], full_sync=full_sync, trigger="manual"),
        **fields})
    try:
        async with UnitOfWorkFactory(pool, PgRepository)() as uow:
            [job] = await handlers.queue_jobs(uow, request)
            await uow.commit()
    finally:
        await pool.close()
    return job


async def test_a_full_sync_coalesced_into_a_parked_incremental_job_starts_a_full_window(
    infra, scratch_schema
):
    """Kept, the incremental window would make the run fetch only what changed since the mark
    and then call every record unchanged since then deleted."""
    conn = await scratch_schema(MIGRATIONS)
    await _park_incremental(conn)
    row = await _request(infra, conn, full_sync=True)
    assert row.id == "job_parked" and row.full_sync and row.status == "pending_retry"
    state = dict(row.pagination_state)
    # The runner fixes a new window (from sync_from, i.e. everything) when none is stored.
    assert "window_end" not in state and "window_start" not in state and "paging" not in state
    assert state.get("full_sync") is not False and not state.get("pages")
    assert state.get("failures") == 1  # the retry budget is not reset by a widening
    assert row.timerange_start is None and row.timerange_end is None


async def test_an_incremental_request_coalesced_into_a_parked_incremental_job_keeps_its_checkpoint(
    infra, scratch_schema
):
    conn = await scratch_schema(MIGRATIONS)
    await _park_incremental(conn)
    row = await _request(infra, conn, full_sync=False)
    assert dict(row.pagination_state) == PARKED_STATE


async def test_an_initial_syncs_say_on_record_events_is_stored_and_outlives_a_coalesced_request(
    infra, scratch_schema
):
    conn = await scratch_schema(MIGRATIONS)
    await _park_incremental(conn)  # queued before the column: it says nothing
    assert await conn.fetchval("SELECT record_events FROM jobs WHERE id='job_parked'") is None
    initial = dict(trigger="initial", is_initial_sync=True,
                   batch_id="0190a000-0000-7000-8000-000000000000")
    row = await _request(infra, conn, full_sync=True, record_events=True, **initial)
    assert row.id == "job_parked" and row.is_initial_sync and row.record_events is True
    row = await _request(infra, conn, full_sync=False)  # a schedule says nothing: kept
    assert row.id == "job_parked" and row.record_events is True
    await conn.execute("DELETE FROM jobs")
    row = await _request(infra, conn, full_sync=True, record_events=False, **initial)
    assert row.is_initial_sync and row.record_events is False
    assert await conn.fetchval("SELECT record_events FROM jobs WHERE id=$1", row.id) is False


async def test_a_job_stuck_finishing_fails_and_its_model_syncs_again(infra, scratch_schema):
    """The end marker or its sync.completed went to a dead-letter topic: no answer ever comes."""
    conn = await scratch_schema(MIGRATIONS)
    schema = await conn.fetchval("SELECT current_schema()")
    await conn.execute(
        "INSERT INTO model_state (connection_id, data_model, high_water_mark, last_status) "
        "VALUES ('c', 'CONTACTS', '2026-03-01', 'complete')"
    )
    await conn.execute(
        "INSERT INTO jobs (id, connection_id, provider_name, data_model, status, phase, "
        "modified_at) VALUES ('job_stuck', 'c', 'sandbox', 'CONTACTS', 'running', 'finishing', "
        "now() - interval '2 hours'),"
        "('job_recent', 'c', 'sandbox', 'INVOICES', 'running', 'finishing', now()),"
        "('job_next', 'c', 'sandbox', 'CONTACTS', 'queued', 'fetching', now())"
    )
    pool = await create_pool(infra.dsn, schema, min_size=1, max_size=2)
    settings = Settings(internal_token="t" * 16, executor_finishing_timeout_seconds=3600)
    expire = command(handlers.expire_finishing, UnitOfWorkFactory(pool, PgRepository),
                     {"settings": settings})
    try:
        assert await expire() == 1
    finally:
        await pool.close()
    repo = PgRepository(conn)
    stuck = await repo.job("job_stuck")
    assert stuck.status == "failed" and "finishing" in stuck.error and stuck.completed_at
    assert (await repo.job("job_recent")).status == "running"
    state = await conn.fetchrow("SELECT * FROM model_state WHERE connection_id = 'c'")
    assert state["last_status"] == "failed" and state["high_water_mark"].isoformat().startswith(
        "2026-03-01"
    )
    assert await conn.fetchval("SELECT count(*) FROM outbox WHERE topic = 'sync.job.changed'") == 1
    claimed = await repo.claim_next("w", 30)
    assert claimed is not None and claimed.id == "job_next"

"""A run whose worker died while another request waits behind it (coalesced into one waiting
job) is taken over from its checkpoint: the sweep does not fail on the waiting slot, and the
waiting job still runs after it."""

from __future__ import annotations

from ferry_executor.bootstrap import MIGRATIONS
from ferry_executor.repository import PgRepository


async def test_a_dead_run_with_a_job_waiting_behind_it_is_taken_over(scratch_schema):
    conn = await scratch_schema(MIGRATIONS)
    repo = PgRepository(conn)
    await conn.execute("""
        INSERT INTO jobs (id, connection_id, provider_name, data_model, status, phase, attempt,
                          lease_owner, lease_until, pagination_state) VALUES
        ('dead', 'c1', 'sandbox', 'CONTACTS', 'running', 'fetching', 1, 'gone:1',
         now() - interval '1 minute', '{"pages": 7}'),
        ('alone', 'c2', 'sandbox', 'CONTACTS', 'running', 'fetching', 1, 'gone:1',
         now() - interval '1 minute', '{}')""")
    await conn.execute("INSERT INTO jobs (id, connection_id, provider_name, data_model, status) "
                       "VALUES ('waiting', 'c1', 'sandbox', 'CONTACTS', 'queued')")
    swept = await repo.expired_leases()  # failed on jobs_one_waiting, for every dead run
    assert [r.id for r in swept] == ["alone"]

    taken = await repo.claim_next("new:2", 30)
    assert taken.id == "dead" and taken.status == "running" and taken.attempt == 2
    assert taken.lease_owner == "new:2" and taken.pagination_state == {"pages": 7}
    assert (await repo.claim_next("new:2", 30)).id == "alone"
    assert await repo.claim_next("new:2", 30) is None  # "waiting" waits for "dead"

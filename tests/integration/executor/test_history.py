"""The executor service prunes its history past the retention, and only that, in real Postgres."""

from __future__ import annotations


async def test_the_executor_prunes_only_finished_jobs_past_the_retention(scratch_schema):
    from ferry_executor.bootstrap import MIGRATIONS
    from ferry_executor.repository import prune_finished

    conn = await scratch_schema(MIGRATIONS)
    await conn.execute(
        """
        INSERT INTO jobs (id, connection_id, provider_name, data_model, status, completed_at) VALUES
          ('old_done', 'c', 'p', 'A', 'complete', now() - interval '40 days'),
          ('old_failed', 'c', 'p', 'B', 'failed', now() - interval '31 days'),
          ('recent_done', 'c', 'p', 'C', 'complete', now() - interval '2 days'),
          ('old_running', 'c', 'p', 'D', 'running', NULL),
          ('old_queued', 'c', 'p', 'E', 'queued', NULL)
        """
    )
    await conn.execute("UPDATE jobs SET created_at = now() - interval '50 days'")
    assert await prune_finished(conn, 30) == 2
    left = {r["id"] for r in await conn.fetch("SELECT id FROM jobs")}
    assert left == {"recent_done", "old_running", "old_queued"}

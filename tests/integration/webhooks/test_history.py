"""The webhooks service prunes its history past the retention, and only that, in real Postgres."""

from __future__ import annotations


async def test_the_webhooks_service_prunes_old_delivered_and_failed_messages_with_their_attempts(
    scratch_schema,
):
    from ferry_webhooks.bootstrap import MIGRATIONS
    from ferry_webhooks.repository import PgRepository

    conn = await scratch_schema(MIGRATIONS)
    await conn.execute(
        "INSERT INTO endpoints (id, project_id, url, secret) VALUES ('ep', 'p', 'http://x', 's')"
    )
    await conn.execute(
        """
        INSERT INTO messages (id, project_id, endpoint_id, lane, event_type, body, ready, """
        """status, created_at) VALUES
          ('old_delivered', 'p', 'ep', 'l', 't', '{}', true, 'delivered', """
        """now() - interval '40 days'),
          ('old_failed', 'p', 'ep', 'l', 't', '{}', true, 'failed', now() - interval '40 days'),
          ('old_retrying', 'p', 'ep', 'l', 't', '{}', true, 'retrying', now() - interval '40 days'),
          ('new_delivered', 'p', 'ep', 'l', 't', '{}', true, 'delivered', now())
        """
    )
    await conn.execute(
        "INSERT INTO attempts (message_id, attempted_at, latency_ms) "
        "SELECT id, now(), 1 FROM messages"
    )
    assert await PgRepository(conn).prune_finished(30) == 2
    assert {r["id"] for r in await conn.fetch("SELECT id FROM messages")} == {
        "old_retrying",
        "new_delivered",
    }
    assert {r["message_id"] for r in await conn.fetch("SELECT message_id FROM attempts")} == {
        "old_retrying",
        "new_delivered",
    }

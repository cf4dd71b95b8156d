"""Claiming due webhook messages in real Postgres: a few per endpoint, oldest first, so one
endpoint's backlog never crowds out another's deliveries, and disabled or full endpoints are
left out."""

from __future__ import annotations

import asyncpg
from ferry_kit import db
from ferry_webhooks.bootstrap import MIGRATIONS
from ferry_webhooks.repository import PgRepository


async def _seed(
    conn: asyncpg.Connection, endpoint: str, n: int, *, enabled: bool = True, age_s: int = 0
) -> None:
    await conn.execute(
        "INSERT INTO endpoints (id, project_id, url, secret, enabled) "
        "VALUES ($1, 'p', 'http://x', 's', $2)",
        endpoint,
        enabled,
    )
    await conn.execute(
        """
        INSERT INTO messages (id, project_id, endpoint_id, lane, event_type, body, ready, """
        """next_attempt_at)
        SELECT $1 || '-' || lpad(g::text, 5, '0'), 'p', $1, 'l' || g, 't', '{}', true,
               now() - make_interval(secs => $3 + ($2 - g))
        FROM generate_series(1, $2) g
        """,
        endpoint,
        n,
        age_s,
    )


async def test_a_claim_takes_a_few_of_each_endpoint_oldest_first_and_skips_disabled_full_and_locked(
    infra, scratch_schema
):
    conn = await scratch_schema(MIGRATIONS)
    other = await db.connect(infra.dsn, await conn.fetchval("SELECT current_schema()"))
    try:
        await _seed(
            conn, "ep_backlog", 300, age_s=3600
        )  # an hour of backlog, older than anything else
        await _seed(conn, "ep_quiet", 5)
        await _seed(conn, "ep_off", 100, enabled=False, age_s=7200)

        async with conn.transaction():
            rows = await PgRepository(conn).claim(64, [], 16)
            by_endpoint = {
                e: [r.id for r in rows if r.endpoint_id == e]
                for e in ("ep_backlog", "ep_quiet", "ep_off")
            }
            assert by_endpoint == {
                "ep_backlog": [f"ep_backlog-{g:05d}" for g in range(1, 17)],
                "ep_quiet": [f"ep_quiet-{g:05d}" for g in range(1, 6)],
                "ep_off": [],
            }
            assert [r.id for r in rows][:16] == by_endpoint["ep_backlog"]  # oldest first

            # Another dispatcher meanwhile: the locked rows are skipped, the next ones taken.
            async with other.transaction():
                more = await PgRepository(other).claim(64, ["ep_quiet"], 16)
                assert [r.id for r in more] == [f"ep_backlog-{g:05d}" for g in range(17, 33)]
    finally:
        await other.close()

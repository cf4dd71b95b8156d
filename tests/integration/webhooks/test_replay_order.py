"""Replaying webhook messages of an ordered lane in real Postgres: a replay joins the back of the
lane, so it never overtakes messages already waiting there, and a lane has one message ready."""

from __future__ import annotations

import asyncpg
from ferry_kit.fake_uow import FakeUnitOfWork
from ferry_webhooks.bootstrap import MIGRATIONS
from ferry_webhooks.handlers import MessageRef, replay_message
from ferry_webhooks.repository import PgRepository


async def _lane(conn: asyncpg.Connection) -> None:
    """Ordered lane L of endpoint ep: m1 failed, m2 the ready head, m3 waiting behind it."""
    await conn.execute(
        "INSERT INTO endpoints (id, project_id, url, secret) VALUES ('ep', 'p', 'http://x', 's')"
    )
    for mid, status, ready in (
        ("m1", "failed", False),
        ("m2", "pending", True),
        ("m3", "pending", False),
    ):
        await conn.execute(
            "INSERT INTO messages (id, project_id, endpoint_id, lane, event_type, body, status, "
            "ready) VALUES ($1, 'p', 'ep', 'L', 't', '{}', $2, $3)",
            mid,
            status,
            ready,
        )


async def _order(conn: asyncpg.Connection) -> tuple[list[str], list[str]]:
    rows = await conn.fetch(
        "SELECT id, ready FROM messages WHERE lane='L' AND status IN ('pending','retrying') "
        "ORDER BY seq"
    )
    return [r["id"] for r in rows], [r["id"] for r in rows if r["ready"]]


async def test_a_replayed_message_joins_the_back_of_its_ordered_lane(infra, scratch_schema):
    conn = await scratch_schema(MIGRATIONS)
    await _lane(conn)
    uow = FakeUnitOfWork(PgRepository(conn))  # the real repository on the test's connection
    async with uow:
        assert await replay_message(MessageRef("p", "m1"), uow) is True
    assert await _order(conn) == (["m2", "m3", "m1"], ["m2"])


async def test_replaying_failed_messages_keeps_one_ready_message_per_ordered_lane(
    infra, scratch_schema
):
    conn = await scratch_schema(MIGRATIONS)
    await _lane(conn)
    assert await PgRepository(conn).replay_failed("ep", None) == 1
    assert await _order(conn) == (["m2", "m3", "m1"], ["m2"])

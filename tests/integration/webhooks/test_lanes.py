"""Ordered lanes delivered by one worker task a message after another (real Postgres, a real local
receiver): in order, the next message only once the previous one is delivered or given up, every
attempt recorded once, without a claim per message, and the lane's lease kept while it runs."""

from __future__ import annotations

import asyncio
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from ferry_kit import db
from ferry_webhooks import delivery
from ferry_webhooks.bootstrap import MIGRATIONS
from ferry_webhooks.delivery import Deliverer
from ferry_webhooks.model import NewMessage
from ferry_webhooks.repository import PgRepository
from ferry_webhooks.settings import Settings
from support.ssrf import LoopbackOnly, StubDNS

sys.path.insert(0, str(Path(__file__).parent))
from webhooks_helpers import Sink, until  # noqa: E402


async def _lane(conn: asyncpg.Connection, url: str, n: int, lane: str = "con_1") -> list[str]:
    """n messages in one ordered lane of endpoint ep; their ids in lane order."""
    await conn.execute(
        "INSERT INTO endpoints (id, project_id, url, secret) VALUES ('ep', 'p', $1, $2) "
        "ON CONFLICT DO NOTHING", url, "whsec_" + "A" * 32)
    ids = [f"msg_{lane}_{i:04d}" for i in range(n)]
    await PgRepository(conn).add_messages([
        NewMessage(id=mid, project_id="p", endpoint_id="ep", connection_id=lane, lane=lane,
                   ordered=True, event_id=uuid.uuid4(), event_type="record_created",
                   body=f'{{"id":"{mid}"}}', created_at=datetime.now(UTC))
        for mid in ids
    ])
    return ids


def _deliverer(pool: asyncpg.Pool, **settings: object) -> Deliverer:
    s = Settings(internal_token="t" * 16, webhooks_allow_loopback_urls=True,
                 webhooks_poll_seconds=0.02, **settings)  # type: ignore[arg-type]
    return Deliverer(s, pool, StubDNS(), LoopbackOnly())


async def _pool(infra, conn: asyncpg.Connection) -> asyncpg.Pool:
    return await db.create_pool(infra.dsn, await conn.fetchval("SELECT current_schema()"))


async def _finished(conn: asyncpg.Connection, n: int) -> bool:
    done = await conn.fetchval(
        "SELECT count(*) FROM messages WHERE status IN ('delivered', 'failed')")
    return done == n


@pytest.mark.parametrize("record_batch", [2000, 7])
async def test_a_lane_goes_in_order_without_a_claim_per_message_each_attempt_recorded_once(
    infra, scratch_schema, monkeypatch, record_batch
):
    # Attempts recorded a few at a time too: a lane let go of with attempts left unrecorded
    # must not have its next head, already sent, claimed and sent again.
    monkeypatch.setattr(delivery, "RECORD_BATCH", record_batch)
    conn = await scratch_schema(MIGRATIONS)
    sink = await Sink().start()
    ids = await _lane(conn, sink.url("hook"), 300)
    pool = await _pool(infra, conn)
    deliverer = _deliverer(pool)
    claimed: list[int] = []
    dispatch = deliverer.dispatch_once

    async def counted() -> int:
        claimed.append(await dispatch())
        return claimed[-1]

    deliverer.dispatch_once = counted  # type: ignore[method-assign]
    await deliverer.start()
    try:
        await until(lambda: _finished(conn, 300), what="300 messages delivered")
    finally:
        await deliverer.stop()
        await pool.close()
        await sink.stop()
    assert [h.id for h in sink.hits] == ids  # each once, in lane order
    assert await conn.fetchval("SELECT count(*) FROM attempts") == 300
    assert await conn.fetchval(
        "SELECT count(DISTINCT message_id) FROM attempts WHERE response_status = 204") == 300
    assert sum(claimed) < 10  # one claim per lane and slice, not one per message


async def test_the_next_message_goes_only_after_the_previous_one_succeeded(
    infra, scratch_schema
):
    conn = await scratch_schema(MIGRATIONS)
    sink = await Sink().start()
    sink.behaviour["hook"] = {"fail_first_of_some": True}  # about half fail once, then succeed
    ids = await _lane(conn, sink.url("hook"), 40)
    pool = await _pool(infra, conn)
    deliverer = _deliverer(pool, webhooks_retry_schedule_seconds=[0.05, 0.05])
    await deliverer.start()
    try:
        await until(lambda: _finished(conn, 40), what="40 messages delivered")
    finally:
        await deliverer.stop()
        await pool.close()
        await sink.stop()
    failed_once = {h.id for h in sink.hits if h.status >= 300}
    assert 0 < len(failed_once) < 40
    # Every hit of a message comes after its predecessor's success, and before its successor's.
    sent = [h.id for h in sink.hits]
    assert list(dict.fromkeys(sent)) == ids
    for previous, mid in zip(ids, ids[1:], strict=False):
        ok = next(i for i, h in enumerate(sink.hits) if h.id == previous and h.status == 204)
        assert sent.index(mid) > ok
    attempts = await conn.fetchval("SELECT count(*) FROM attempts")
    assert attempts == len(sink.hits) == 40 + len(failed_once)


async def test_a_message_given_up_lets_the_lane_go_on(infra, scratch_schema):
    conn = await scratch_schema(MIGRATIONS)
    sink = await Sink().start()
    sink.behaviour["hook"] = {"fail_first_of_some": True}
    ids = await _lane(conn, sink.url("hook"), 30)
    pool = await _pool(infra, conn)
    deliverer = _deliverer(pool, webhooks_retry_schedule_seconds=[])  # no retry: given up
    await deliverer.start()
    try:
        await until(lambda: _finished(conn, 30), what="30 messages finished")
    finally:
        await deliverer.stop()
        await pool.close()
        await sink.stop()
    assert [h.id for h in sink.hits] == ids
    failed = {r["id"] for r in await conn.fetch("SELECT id FROM messages WHERE status = 'failed'")}
    assert failed == {h.id for h in sink.hits if h.status >= 300} and failed


async def test_a_lane_held_by_one_worker_is_not_taken_by_another_while_its_lease_is_renewed(
    infra, scratch_schema
):
    conn = await scratch_schema(MIGRATIONS)
    sink = await Sink().start()
    sink.behaviour["hook"] = {"delay": 0.01}
    await _lane(conn, sink.url("hook"), 400)
    pool = await _pool(infra, conn)
    # A lease of 1 s, renewed as attempts are recorded: the lane outlives it many times over.
    short = {"webhooks_lease_seconds": 1.0, "webhooks_timeout_seconds": 0.5,
             "webhooks_lane_slice_seconds": 60.0}
    first, second = _deliverer(pool, **short), _deliverer(pool, **short)
    await first.start()
    try:
        await until(lambda: len(sink.hits) >= 20, what="the first worker under way")
        for _ in range(15):  # 3 s
            assert await second.dispatch_once() == 0
            await asyncio.sleep(0.2)
        assert len(sink.hits) < 400
        await first.stop()  # lets go: the lane's head is due at once, for the other worker
        await second.start()
        await until(lambda: _finished(conn, 400), what="the rest delivered by the second")
    finally:
        await first.stop()
        await second.stop()
        await pool.close()
        await sink.stop()
    assert len({h.id for h in sink.hits}) == 400

"""The delivery loops outlive a database connection lost under them (as when Postgres restarts,
asyncpg raises InterfaceError from the transaction's exit): they claim and record again."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
import pytest
from ferry_webhooks import repository as repo
from ferry_webhooks.delivery import Deliverer
from ferry_webhooks.settings import Settings
from support.losing_pool import LosingPool, survives


def outcome() -> repo.Outcome:
    return repo.Outcome(message_id="msg_1", endpoint_id="ep_1", lane="c", status="delivered",
                        attempted_at=datetime.now(UTC), response_status=204, latency_ms=1.0,
                        error=None, excerpt=None, tries=1, next_attempt_at=None)


@pytest.mark.parametrize("first", [
    None, asyncpg.exceptions.InternalClientError("cannot switch to state 15")])
@pytest.mark.parametrize("loop_name", ["_dispatch_loop", "_flush_loop"])
async def test_a_delivery_loop_goes_on_after_the_connection_is_lost(loop_name, first):
    pool = LosingPool(first)
    deliverer = Deliverer(Settings(internal_token="t" * 16, webhooks_poll_seconds=0.01), pool)
    deliverer._outcomes.append(outcome())
    deliverer._outcome_ready.set()
    try:
        await survives(pool, asyncio.create_task(getattr(deliverer, loop_name)()))
    finally:
        await deliverer.client.aclose()

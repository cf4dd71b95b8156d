"""What `ferry status` reads from each service: consumer lag and outbox backlog."""

from __future__ import annotations

import contextlib
from typing import Any


async def consumer_lag(subscriber: Any) -> int | None:
    """Messages on the service's assigned partitions not yet consumed (None: not consuming)."""
    consumer = getattr(subscriber, "consumer", None)
    if consumer is None:
        return None
    lag = 0
    for tp in consumer.assignment():
        highwater = consumer.highwater(tp)
        with contextlib.suppress(Exception):  # a partition being reassigned has no position
            lag += max(0, (highwater or 0) - await consumer.position(tp))
    return lag


async def outbox_backlog(pool: Any) -> int | None:
    """Events written but not yet published (the relay deletes a row once it is sent)."""
    if pool is None:
        return None
    return int(await pool.fetchval("SELECT coalesce(sum(events), 0) FROM outbox"))


async def details(pool: Any, subscriber: Any, relay_running: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"status": "ok"}
    if subscriber is not None:
        out["consumer_lag"] = await consumer_lag(subscriber)
    if relay_running:
        out["outbox_backlog"] = await outbox_backlog(pool)
    return out

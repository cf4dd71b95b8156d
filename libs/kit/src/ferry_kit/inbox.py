"""Inbox: record processed event ids in the effect's own transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar
from uuid import UUID

import asyncpg
from ferry_contracts import Envelope

from .db import delete_in_batches

E = TypeVar("E", bound=Envelope[Any])


async def claim(conn: asyncpg.Connection, topic: str, events: Sequence[E]) -> list[E]:
    """Return the events not processed before, in their order, and mark them processed.

    Must run inside the transaction that applies their effect: if it rolls back, the claim does
    too, and a redelivery is processed again.
    """
    if not events:
        return []
    ids = [e.id for e in events]
    rows = await conn.fetch(
        "INSERT INTO inbox (event_id, topic) SELECT unnest($1::uuid[]), $2 "
        "ON CONFLICT DO NOTHING RETURNING event_id",
        ids,
        topic,
    )
    fresh: set[UUID] = {r["event_id"] for r in rows}
    seen: set[UUID] = set()
    out: list[E] = []
    for e in events:
        if e.id in fresh and e.id not in seen:
            seen.add(e.id)
            out.append(e)
    return out


async def prune(conn: asyncpg.Connection, older_than_hours: float, batch: int = 10_000) -> int:
    """Forget processed ids older than the broker keeps messages: no redelivery can bring those
    back. Returns how many went."""
    return await delete_in_batches(
        conn,
        "DELETE FROM inbox WHERE event_id IN (SELECT event_id FROM inbox "
        "WHERE processed_at < now() - make_interval(secs => $1) LIMIT $2)",
        older_than_hours * 3600, batch=batch,
    )

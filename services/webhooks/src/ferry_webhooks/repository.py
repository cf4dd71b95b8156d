"""The webhooks service's repository: named queries in, domain records out."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Protocol

import asyncpg
from ferry_kit.db import delete_in_batches

from . import domain
from . import queries as q
from .model import (
    Attempt,
    Claimed,
    Endpoint,
    KnownConnection,
    Lane,
    Lease,
    Message,
    MessageFilter,
    NewEndpoint,
    NewMessage,
    Outcome,
    ReplayTarget,
    Subscription,
)

__all__ = ["Outcome", "PgRepository", "Repository"]

class Repository(Protocol):
    """What handlers and views may ask of the webhooks service's storage."""

    async def connection_for_update(self, connection_id: str) -> KnownConnection | None: ...
    async def save_connection(self, c: KnownConnection) -> None: ...
    async def delete_connection(self, connection_id: str) -> None: ...
    async def user_ids(self, connection_ids: Sequence[str]) -> dict[str, str | None]: ...
    async def subscriptions(self, project_ids: Sequence[str]) -> list[Subscription]: ...
    async def add_messages(self, messages: Sequence[NewMessage]) -> int: ...
    async def add_endpoint(self, e: NewEndpoint) -> Endpoint: ...
    async def endpoints(self, project_id: str) -> list[Endpoint]: ...
    async def endpoint(self, project_id: str, endpoint_id: str) -> Endpoint | None: ...
    async def delete_endpoint(self, project_id: str, endpoint_id: str) -> bool: ...
    async def set_enabled(
        self, project_id: str, endpoint_id: str, enabled: bool
    ) -> Endpoint | None: ...
    async def rotate_secret(
        self, project_id: str, endpoint_id: str, secret: str, overlap_hours: float
    ) -> str | None: ...
    async def message_for_replay(self, project_id: str, message_id: str) -> ReplayTarget | None: ...
    async def requeue_message(self, message_id: str, lane: Lane) -> None: ...
    async def replay_failed(self, endpoint_id: str, since: datetime | None) -> int: ...
    async def messages(
        self, project_id: str, where: MessageFilter, before_seq: int | None, limit: int
    ) -> list[Message]: ...
    async def attempts(self, message_ids: Sequence[str]) -> list[Attempt]: ...


class PgRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    # --- connections projection ---------------------------------------------------------------

    async def connection_for_update(self, connection_id: str) -> KnownConnection | None:
        row = await self._conn.fetchrow(q.CONNECTION_FOR_UPDATE, connection_id)
        return KnownConnection(**row) if row is not None else None

    async def save_connection(self, c: KnownConnection) -> None:
        await self._conn.execute(q.UPSERT_CONNECTION, c.connection_id, c.project_id, c.user_id,
                                 c.provider_name, c.status, c.version)

    async def delete_connection(self, connection_id: str) -> None:
        await self._conn.execute(q.DELETE_CONNECTION, connection_id)

    async def user_ids(self, connection_ids: Sequence[str]) -> dict[str, str | None]:
        rows = await self._conn.fetch(q.USER_IDS, list(connection_ids))
        return {r["connection_id"]: r["user_id"] for r in rows}

    # --- endpoints ----------------------------------------------------------------------------

    async def subscriptions(self, project_ids: Sequence[str]) -> list[Subscription]:
        rows = await self._conn.fetch(q.SUBSCRIPTIONS, list(project_ids))
        return [Subscription(r["id"], r["project_id"], r["event_types"], r["ordered"])
                for r in rows]

    async def add_endpoint(self, e: NewEndpoint) -> Endpoint:
        row = await self._conn.fetchrow(q.INSERT_ENDPOINT, e.id, e.project_id, e.url,
                                        e.description, e.event_types, e.ordered, e.secret)
        return Endpoint(**row)

    async def endpoints(self, project_id: str) -> list[Endpoint]:
        return [Endpoint(**r) for r in await self._conn.fetch(q.ENDPOINTS, project_id)]

    async def endpoint(self, project_id: str, endpoint_id: str) -> Endpoint | None:
        row = await self._conn.fetchrow(q.ENDPOINT, project_id, endpoint_id)
        return Endpoint(**row) if row is not None else None

    async def delete_endpoint(self, project_id: str, endpoint_id: str) -> bool:
        done: str = await self._conn.execute(q.DELETE_ENDPOINT, project_id, endpoint_id)
        return done.endswith(" 1")

    async def set_enabled(self, project_id: str, endpoint_id: str,
                          enabled: bool) -> Endpoint | None:
        row = await self._conn.fetchrow(q.SET_ENABLED, project_id, endpoint_id, enabled)
        return Endpoint(**row) if row is not None else None

    async def rotate_secret(self, project_id: str, endpoint_id: str, secret: str,
                            overlap_hours: float) -> str | None:
        row = await self._conn.fetchrow(q.ROTATE_SECRET, project_id, endpoint_id, secret,
                                        overlap_hours)
        return row["secret"] if row is not None else None

    # --- messages: creation -------------------------------------------------------------------

    async def add_messages(self, messages: Sequence[NewMessage]) -> int:
        """Insert in bulk; in an ordered lane only the oldest undelivered message is ready."""
        if not messages:
            return 0
        ordered = {(m.endpoint_id, m.lane) for m in messages if m.ordered}
        busy: set[Lane] = set()
        if ordered:
            await self._lock_lanes(ordered)
            eps, lanes = zip(*ordered, strict=True)
            rows = await self._conn.fetch(q.BUSY_LANES, list(eps), list(lanes))
            busy = {(r["endpoint_id"], r["lane"]) for r in rows}
        ready = domain.ready_flags(messages, busy)
        await self._conn.execute(
            q.INSERT_MESSAGES, [m.id for m in messages], [m.project_id for m in messages],
            [m.endpoint_id for m in messages], [m.connection_id for m in messages],
            [m.lane for m in messages], [m.event_id for m in messages],
            [m.event_type for m in messages], [m.body for m in messages], ready,
            [m.created_at for m in messages],
        )
        await self._conn.execute(q.NOTIFY)
        return len(messages)

    async def _lock_lanes(self, lanes: set[Lane]) -> None:
        """Serialize writers of the same lanes (in a fixed order, so no deadlock)."""
        keys = sorted({domain.lane_lock_key(ep, name) for ep, name in lanes})
        if keys:
            await self._conn.execute(q.LOCK_LANES, keys)

    async def _promote(self, lanes: set[Lane], held: Collection[Lane] = (),
                       lease: Lease | None = None) -> None:
        """Make each lane's oldest waiting message ready, unless the lane already has one; in
        the `held` lanes (still delivered under `lease`) a pending one is leased too."""
        ordered = sorted(lanes)
        await self._conn.execute(
            q.PROMOTE, [ep for ep, _ in ordered], [name for _, name in ordered],
            lease.worker if lease else None, lease.seconds if lease else 0.0,
            [lane in held for lane in ordered])

    # --- messages: delivery -------------------------------------------------------------------

    async def claim(self, limit: int, full_endpoints: Sequence[str],
                    per_endpoint: int) -> list[Claimed]:
        """Due ready messages of enabled endpoints not at their concurrency limit, row-locked:
        at most `per_endpoint` of each, oldest first."""
        rows = await self._conn.fetch(q.CLAIM, limit, list(full_endpoints), per_endpoint)
        return [Claimed(**r) for r in rows]

    async def seconds_until_next_due(self) -> float | None:
        """Seconds until the earliest waiting message of an enabled endpoint is due."""
        due: float | None = await self._conn.fetchval(q.SECONDS_UNTIL_NEXT_DUE)
        return due

    async def lease(self, ids: Sequence[str], lease: Lease) -> None:
        await self._conn.execute(q.LEASE, list(ids), lease.seconds, lease.worker)

    async def followers(self, heads: Sequence[Claimed], limit: int) -> dict[Lane, list[Claimed]]:
        """The waiting messages after each head in its lane, oldest first (at most `limit`)."""
        if not heads:
            return {}
        rows = await self._conn.fetch(q.FOLLOWERS, [h.endpoint_id for h in heads],
                                      [h.lane for h in heads], [h.seq for h in heads], limit)
        of = {(h.endpoint_id, h.lane): h for h in heads}
        out: dict[Lane, list[Claimed]] = {lane: [] for lane in of}
        for r in rows:
            head = of[(r["endpoint_id"], r["lane"])]
            out[(head.endpoint_id, head.lane)].append(Claimed(
                id=r["id"], endpoint_id=head.endpoint_id, lane=head.lane, tries=r["tries"],
                body=r["body"], url=head.url, secret=head.secret,
                previous_secret=head.previous_secret, seq=r["seq"]))
        return out

    async def lane_next(self, lane: Lane, after_seq: int, limit: int,
                        lease: Lease) -> list[Claimed]:
        """The next messages of a lane delivered under `lease`, oldest first; none when its
        endpoint is disabled or another worker holds its head."""
        rows = await self._conn.fetch(q.LANE_NEXT, lane[0], lane[1], after_seq, limit)
        if rows and rows[0]["ready"]:
            taken = await self._conn.fetchval(q.TAKE_HEAD, rows[0]["id"], lease.worker,
                                              lease.seconds)
            if taken is None:
                return []
        return [Claimed(**{k: v for k, v in r.items() if k != "ready"}) for r in rows]

    async def record_outcomes(self, outcomes: Sequence[Outcome], held: Collection[Lane] = (),
                              released: Collection[Lane] = (),
                              lease: Lease | None = None) -> None:
        """Store attempts and their effect on messages; a finished lane head lets the next go.
        The lanes a worker still delivers (`held`) keep its lease, those it let go of
        (`released`) are due again."""
        finished = domain.finished_lanes(outcomes)
        await self._lock_lanes(finished | set(released))
        if lease is not None and held:
            eps, names = _columns(held)
            await self._conn.execute(q.RENEW, eps, names, lease.worker, lease.seconds)
        if outcomes:
            await self._record(outcomes)
        if finished:
            await self._promote(finished, held, lease)
        if lease is not None and released:
            eps, names = _columns(released)
            await self._conn.execute(q.RELEASE, eps, names, lease.worker)

    async def _record(self, outcomes: Sequence[Outcome]) -> None:
        await self._conn.execute(
            q.INSERT_ATTEMPTS, [o.message_id for o in outcomes],
            [o.attempted_at for o in outcomes], [o.response_status for o in outcomes],
            [o.latency_ms for o in outcomes], [o.error for o in outcomes],
            [o.excerpt for o in outcomes],
        )
        await self._conn.execute(
            q.RECORD_OUTCOMES, [o.message_id for o in outcomes], [o.status for o in outcomes],
            [o.tries for o in outcomes], [o.next_attempt_at for o in outcomes],
            [o.attempted_at for o in outcomes], [domain.error_text(o) for o in outcomes],
        )

    async def endpoint_health(self, failed: dict[str, datetime], ok: Sequence[str],
                              disable_after_hours: float) -> list[str]:
        """Track continuous failure per endpoint; returns the endpoints disabled now."""
        if failed:
            await self._conn.execute(q.MARK_FAILING, list(failed), list(failed.values()))
        if ok:
            await self._conn.execute(q.CLEAR_FAILING, list(ok))
        if not failed:
            return []
        rows = await self._conn.fetch(q.DISABLE_FAILING, list(failed), disable_after_hours)
        return [r["id"] for r in rows]

    async def prune_finished(self, older_than_days: float) -> int:
        """Delivered and failed messages past the history's retention, with their attempts."""
        return await delete_in_batches(self._conn, q.PRUNE_FINISHED, older_than_days)

    # --- messages: reads and replays ----------------------------------------------------------

    async def messages(self, project_id: str, where: MessageFilter, before_seq: int | None,
                       limit: int) -> list[Message]:
        rows = await self._conn.fetch(q.MESSAGES, project_id, where.endpoint_id,
                                      where.event_type, where.status, before_seq, limit)
        return [Message(**r) for r in rows]

    async def attempts(self, message_ids: Sequence[str]) -> list[Attempt]:
        return [Attempt(**r) for r in await self._conn.fetch(q.ATTEMPTS, list(message_ids))]

    async def message_for_replay(self, project_id: str, message_id: str) -> ReplayTarget | None:
        row = await self._conn.fetchrow(q.MESSAGE_FOR_REPLAY, project_id, message_id)
        return ReplayTarget(**row) if row is not None else None

    async def requeue_message(self, message_id: str, lane: Lane) -> None:
        """A finished message made due again, at the back of its lane."""
        await self._lock_lanes({lane})
        await self._conn.execute(q.REQUEUE_MESSAGE, message_id)
        await self._promote({lane})
        await self._conn.execute(q.NOTIFY)

    async def replay_failed(self, endpoint_id: str, since: datetime | None) -> int:
        """Every failed message of the endpoint (since a time) becomes due again, at the back
        of its lane; the endpoint is enabled again."""
        await self._conn.execute(q.REENABLE, endpoint_id)
        rows = await self._conn.fetch(q.FAILED_LANES, endpoint_id, since)
        lanes = {(endpoint_id, r["lane"]) for r in rows}
        await self._lock_lanes(lanes)
        done: str = await self._conn.execute(q.REQUEUE_FAILED, endpoint_id, since)
        if lanes:
            await self._promote(lanes)
        await self._conn.execute(q.NOTIFY)
        return int(done.split()[-1])


def _columns(lanes: Collection[Lane]) -> tuple[list[str], list[str]]:
    ordered = sorted(lanes)
    return [ep for ep, _ in ordered], [name for _, name in ordered]

"""Delivery workers: claim due messages from Postgres, POST them signed, record every attempt.

A claimed message starts a worker task for its lane. In an ordered lane the task goes on with
the lane's next messages, one after another (the next only once the previous one is delivered
or given up), without a claim for each: it reads them a batch at a time, and its attempts are
recorded in batches behind it, each with the lane's next head leased to this process. A crash
loses no message: what was sent but not recorded is sent again (receivers dedupe by
webhook-id), after the lease."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter, deque
from collections.abc import AsyncIterator, Collection
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpcore
from ferry_kit import logging as klog

from . import domain, guard
from . import queries as q
from .client import WebhookClient
from .model import Claimed, Lane, Lease, Outcome
from .repository import PgRepository
from .settings import Settings

log = klog.get("ferry.webhooks.delivery")


EXCERPT_BYTES = 1024
RECORD_BATCH = 2000  # attempts recorded in one transaction at most
# LOOP_SURVIVES: the claim and record loops catch every Exception. A database lost mid-operation
# (a Postgres restart) raises OSError, PostgresError, InterfaceError or InternalClientError; a
# loop that dies of one stops every delivery of this process, silently.


class Deliverer:
    def __init__(self, settings: Settings, pool: asyncpg.Pool,
                 resolve: guard.Resolve = guard.system_resolve,
                 network: httpcore.AsyncNetworkBackend | None = None) -> None:
        self.s = settings
        self.pool = pool
        # Redirects are never followed: a 3xx is a failed attempt like any other non-2xx.
        self.client = WebhookClient(settings.webhooks_allow_loopback_urls, resolve,
                                    settings.webhooks_max_in_flight, EXCERPT_BYTES, network)
        self.in_flight: Counter[str] = Counter()
        self.total_in_flight = 0
        self._wake = asyncio.Event()
        self._outcomes: list[Outcome] = []
        self._outcome_ready = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        self._deliveries: set[asyncio.Task[Any]] = set()
        self._listener: asyncpg.Connection | None = None
        self.lease = Lease(uuid.uuid4(), settings.lease_seconds)
        self._running: set[Lane] = set()  # the lanes a task of this process delivers
        self._deadline: dict[Lane, float] = {}  # (monotonic) until when this process holds each
        self._released: list[Lane] = []  # lanes let go of, their leases not yet dropped
        self._unrecorded: Counter[Lane] = Counter()
        self._recorded = asyncio.Event()  # set (and replaced) after each recording

    # --- life -------------------------------------------------------------------------------

    async def start(self) -> None:
        try:
            self._listener = await asyncpg.connect(self.s.database_url)
            await self._listener.add_listener(q.CHANNEL, lambda *_: self._wake.set())
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("LISTEN unavailable, polling only", error=str(exc))
        self._tasks = [asyncio.create_task(self._dispatch_loop(), name="webhooks-dispatch"),
                       asyncio.create_task(self._flush_loop(), name="webhooks-flush")]

    async def stop(self) -> None:
        for t in self._tasks[:1]:
            t.cancel()
        for d in list(self._deliveries):
            d.cancel()
        await asyncio.gather(*self._tasks[:1], *self._deliveries, return_exceptions=True)
        # Record what finished; messages cut short come back after their lease.
        with contextlib.suppress(Exception):
            await self._flush()
        for t in self._tasks[1:]:
            t.cancel()
        await asyncio.gather(*self._tasks[1:], return_exceptions=True)
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._listener.close(), 5)
        await self.client.aclose()

    def wake(self) -> None:
        self._wake.set()

    @contextlib.asynccontextmanager
    async def _repository(self, transaction: bool = True) -> AsyncIterator[PgRepository]:
        async with self.pool.acquire() as conn:
            if not transaction:
                yield PgRepository(conn)
                return
            async with conn.transaction():
                yield PgRepository(conn)

    # --- claim ------------------------------------------------------------------------------

    async def _dispatch_loop(self) -> None:
        while True:
            # Cleared before claiming: a wake-up during the claim (a message promoted, a NOTIFY)
            # is not lost to a long idle sleep.
            self._wake.clear()
            claimed = 0
            try:
                claimed = await self.dispatch_once()
            except Exception as exc:  # noqa: BLE001 - see LOOP_SURVIVES
                log.warning("claiming webhook messages failed", error=repr(exc))
                await asyncio.sleep(1)
            if claimed == 0 or self.total_in_flight >= self.s.webhooks_max_in_flight:
                # Asked before the wait is made: a stop while asking left it never awaited.
                idle = await self._idle_seconds(claimed)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), idle)

    async def _idle_seconds(self, claimed: int) -> float:
        """Until the next retry is due, within bounds: new messages wake the loop (NOTIFY)."""
        s = self.s
        if claimed or self.total_in_flight:
            return s.webhooks_poll_seconds
        try:
            async with self._repository(transaction=False) as repo:
                due = await repo.seconds_until_next_due()
        except (OSError, asyncpg.PostgresError):
            return s.webhooks_poll_seconds
        if due is None:
            return s.webhooks_idle_poll_seconds
        return min(s.webhooks_idle_poll_seconds, max(s.webhooks_poll_seconds, due))

    async def dispatch_once(self) -> int:
        free = self.s.webhooks_max_in_flight - self.total_in_flight
        if free <= 0:
            return 0
        cap = self.s.webhooks_endpoint_concurrency
        full = [ep for ep, n in self.in_flight.items() if n >= cap]
        started = time.monotonic()
        async with self._repository() as repo:
            rows = await repo.claim(min(free, self.s.webhooks_claim_batch), full, cap)
            taken = []
            counts = Counter(self.in_flight)
            for r in rows:
                if counts[r.endpoint_id] >= cap or (r.endpoint_id, r.lane) in self._running:
                    continue  # left for later: its row lock ends with this transaction
                counts[r.endpoint_id] += 1
                taken.append(r)
            followers: dict[Lane, list[Claimed]] = {}
            if taken:
                await repo.lease([r.id for r in taken], self.lease)
                followers = await repo.followers([r for r in taken if r.lane != r.id],
                                                 self.s.webhooks_lane_batch)
        for r in taken:
            lane = (r.endpoint_id, r.lane)
            self._running.add(lane)
            self._deadline[lane] = started + self.lease.seconds
            self.in_flight[r.endpoint_id] += 1
            self.total_in_flight += 1
            task = asyncio.create_task(self._deliver(r, followers.get(lane, [])))
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)
        return len(taken)

    # --- one lane ---------------------------------------------------------------------------

    async def _deliver(self, m: Claimed, followers: list[Claimed]) -> None:
        lane = (m.endpoint_id, m.lane)
        try:
            await self._run_lane(m, followers, lane)
        finally:
            self._running.discard(lane)
            self._deadline.pop(lane, None)
            self._released.append(lane)
            self._outcome_ready.set()
            self.in_flight[m.endpoint_id] -= 1
            if self.in_flight[m.endpoint_id] <= 0:
                del self.in_flight[m.endpoint_id]
            self.total_in_flight -= 1
            self._wake.set()

    async def _run_lane(self, head: Claimed, followers: list[Claimed], lane: Lane) -> None:
        """The lane's messages from its head on, one after another, for a slice of time: on
        after a message is delivered or given up, not after a failure to be retried. The lane
        is read again only while its reads come back full: a lane drained at its last read
        gets its new messages through claims, as they come."""
        batch = self.s.webhooks_lane_batch
        queue = deque([head, *followers])
        more = len(followers) >= batch
        until = time.monotonic() + self.s.webhooks_lane_slice_seconds
        while queue:
            m = queue.popleft()
            outcome = await self.attempt(m)
            self._outcomes.append(outcome)
            self._unrecorded[lane] += 1
            self._outcome_ready.set()
            if outcome.status == "retrying" or m.lane == m.id or time.monotonic() >= until:
                return  # a retry waits for its time; an unordered message is a lane alone
            if not queue and more:
                queue.extend(await self._lane_next(lane, m.seq))
                more = len(queue) >= batch
            if queue:
                await self._may_send(lane)

    async def _lane_next(self, lane: Lane, after_seq: int) -> list[Claimed]:
        try:
            async with self._repository(transaction=False) as repo:
                return await repo.lane_next(lane, after_seq, self.s.webhooks_lane_batch,
                                            self.lease)
        except Exception as exc:  # noqa: BLE001 - the lane is let go; its head comes back
            log.warning("reading a webhook lane failed", error=repr(exc))
            return []

    async def _may_send(self, lane: Lane) -> None:
        """Until few enough of the lane's attempts wait to be recorded, and its lease lasts
        for one more attempt (each recording renews it)."""
        while (self._unrecorded[lane] >= self.s.webhooks_lane_batch
               or time.monotonic() + self.s.webhooks_timeout_seconds >= self._deadline[lane]):
            recorded = self._recorded
            self._outcome_ready.set()
            await recorded.wait()

    # --- one attempt ------------------------------------------------------------------------

    async def attempt(self, m: Claimed) -> Outcome:
        at = datetime.now(UTC)
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        excerpt: str | None = None
        try:
            # The URL here; its addresses when the client opens a connection (client.py).
            target = guard.parse(m.url)
            secrets = [m.secret] + ([m.previous_secret] if m.previous_secret else [])
            headers = domain.headers(m.id, at, m.body, secrets)
            async with asyncio.timeout(self.s.webhooks_timeout_seconds):
                status, raw = await self.client.post(target, m.body.encode(), headers)
            excerpt = raw.decode(errors="replace") or None
        except guard.Blocked as exc:
            error = f"blocked: {exc}"
        except TimeoutError:
            error = f"timeout after {self.s.webhooks_timeout_seconds:g} s"
        except Exception as exc:  # refused, reset, TLS, malformed response: all failed attempts
            error = f"{type(exc).__name__}: {exc}"[:500]
        latency_ms = (time.perf_counter() - started) * 1000
        tries = m.tries + 1
        state, next_at = domain.verdict(status, tries, self.s.webhooks_retry_schedule_seconds,
                                        datetime.now(UTC))
        return Outcome(
            message_id=m.id, endpoint_id=m.endpoint_id, lane=m.lane, attempted_at=at,
            response_status=status, latency_ms=latency_ms, error=error, excerpt=excerpt,
            status=state, tries=tries, next_attempt_at=next_at,
        )

    # --- recording --------------------------------------------------------------------------

    async def _flush_loop(self) -> None:
        while True:
            await self._outcome_ready.wait()
            self._outcome_ready.clear()
            try:
                await self._flush()
            except Exception as exc:  # noqa: BLE001 - see LOOP_SURVIVES
                log.warning("recording webhook attempts failed; retrying", error=repr(exc))
                self._outcome_ready.set()
                await asyncio.sleep(0.5)

    async def _flush(self) -> None:
        """Record the attempts made, drop the leases of the lanes let go of (after their last
        attempts), and renew those of the lanes still delivered."""
        while True:
            batch = self._outcomes[:RECORD_BATCH]
            self._outcomes = self._outcomes[RECORD_BATCH:]
            released: list[Lane] = []
            if not self._outcomes:
                released, self._released = self._released, []
            # Lanes still delivered, or with attempts left for the next round: their next head
            # was sent already or is about to be, so it stays leased.
            held = (set(self._running) | set(self._released)
                    | {(o.endpoint_id, o.lane) for o in self._outcomes})
            started = time.monotonic()
            if batch or released or held:
                try:
                    await self._record(batch, held, [x for x in released if x not in held])
                except BaseException:
                    self._outcomes[:0] = batch
                    self._released[:0] = released
                    raise
                self._recorded_now(batch, held, released, started + self.lease.seconds)
            if not self._outcomes and not self._released:
                return

    def _recorded_now(self, batch: list[Outcome], held: set[Lane], released: list[Lane],
                      deadline: float) -> None:
        for o in batch:
            lane = (o.endpoint_id, o.lane)
            self._unrecorded[lane] -= 1
            if self._unrecorded[lane] <= 0:
                del self._unrecorded[lane]
        for lane in held & self._running:
            self._deadline[lane] = max(self._deadline.get(lane, 0.0), deadline)
        recorded, self._recorded = self._recorded, asyncio.Event()
        recorded.set()
        if released or any((o.endpoint_id, o.lane) not in held for o in batch):
            self._wake.set()  # a lane let go of may have its next message ready

    async def _record(self, batch: list[Outcome], held: Collection[Lane],
                      released: Collection[Lane]) -> None:
        failed, ok = domain.health(batch)
        async with self._repository() as repo:
            await repo.record_outcomes(batch, held, released, self.lease)
            disabled = await repo.endpoint_health(failed, ok, self.s.webhooks_disable_after_hours)
        for ep in disabled:
            log.warning("webhook endpoint disabled after failing continuously", endpoint_id=ep,
                        hours=self.s.webhooks_disable_after_hours)

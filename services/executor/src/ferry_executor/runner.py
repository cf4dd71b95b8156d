"""Workers that run sync jobs page by page.

Each page is published to `records.fetched` (through the outbox) in the same transaction that
saves the job's checkpoint, so a run that dies resumes at the next page on any worker: a lease,
renewed by a heartbeat, tells a live run from a dead one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from datetime import datetime
from typing import Any

import asyncpg
import httpx
from ferry_connectors import (
    AccessDenied,
    AuthExpired,
    ConnectorError,
    Page,
    ProviderUnavailable,
    RateLimited,
    get_definition,
)
from ferry_connectors.definition import Model
from ferry_contracts import Envelope
from ferry_contracts.records import RecordsEnd, RecordsFetched, RecordsPage
from ferry_kit import logging as klog
from ferry_kit import outbox

from . import domain
from . import repository as repo
from .connector import client_for, fetch_page, paging_state, record_time
from .provider import Budget, CredentialsClient, CredentialsError
from .service import Jobs, changed, log_end
from .settings import Settings

log = klog.get("ferry.executor.runner")



def _full(job: asyncpg.Record, state: dict[str, Any]) -> bool:
    """A full sync: asked for, or the model cannot ask for changes only (no incremental)."""
    return bool(state.get("full_sync", job["full_sync"]))


class LostLease(Exception):
    """Another worker took the job over (this one was presumed dead) or it was deleted."""


class Runner:
    def __init__(self, settings: Settings, pool: asyncpg.Pool, jobs: Jobs, credentials: CredentialsClient,
                 budget: Budget, http: httpx.AsyncClient, producer: Any = None) -> None:
        self.settings = settings
        # Pages go to the bus straight from here (ids fixed per page, see domain.page_event_id)
        # instead of through an outbox row each: the checkpoint alone is written per page.
        self.producer = producer if settings.executor_publish_pages_directly else None
        self.pool = pool
        self.jobs = jobs
        self.credentials = credentials
        self.budget = budget
        self.http = http
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    def start(self) -> None:
        for i in range(self.settings.executor_concurrency):
            self._tasks.append(asyncio.create_task(self._worker(), name=f"executor-worker-{i}"))
        self._tasks.append(asyncio.create_task(self._sweeper(), name="executor-sweeper"))

    async def stop(self) -> None:
        self._stopping = True
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t

    # --- loops --------------------------------------------------------------------------------

    async def _worker(self) -> None:
        while not self._stopping:
            # Cleared before looking, so a job committed while this worker looks still wakes it.
            self.jobs.wake.clear()
            try:
                async with self.pool.acquire() as conn, conn.transaction():
                    job = await repo.claim_next(conn, self.owner, self.settings.executor_lease_seconds)
                    if job is not None:
                        await outbox.add(conn, [changed(job, "queued")])
                    else:
                        idle = await self._idle_seconds(conn)
            except asyncpg.UniqueViolationError:
                continue  # another worker started that (connection, model) a moment ago
            except Exception as e:  # noqa: BLE001 - a database lost mid-claim (a restart) raises
                # InterfaceError or InternalClientError besides PostgresError: the worker lives on
                log.warning("claiming jobs failed", error=str(e))
                await asyncio.sleep(1.0)
                continue
            if job is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.jobs.wake.wait(), idle)
                continue
            self.jobs.wake.set()  # there may be more: an idle sibling looks next
            try:
                await self.run(job)
            except LostLease:
                log.warning("job taken over by another worker", job_id=job["id"])
            except asyncio.CancelledError:
                raise
            except Exception as e:  # a bug must not kill the worker; the lease expires and it resumes
                log.exception("job run crashed", job_id=job["id"], error=str(e))
                await asyncio.sleep(1.0)

    async def _idle_seconds(self, conn: asyncpg.Connection) -> float:
        """How long an idle worker may sleep: until the next waiting job is due, within bounds.

        Jobs queued in this process wake the workers at once; the sleep only catches jobs that
        become due later (parked ones) and jobs queued by another replica."""
        s = self.settings
        due = await repo.seconds_until_next_due(conn)
        if due is None:
            return s.executor_idle_poll_seconds
        return min(s.executor_idle_poll_seconds, max(s.executor_poll_seconds, due))

    async def _sweeper(self) -> None:
        while not self._stopping:
            await asyncio.sleep(max(0.5, self.settings.executor_lease_seconds / 3))
            try:
                async with self.pool.acquire() as conn, conn.transaction():
                    rows = await repo.expired_leases(conn)
                    await outbox.add(conn, [changed(r, "running") for r in rows])
                if rows:
                    log.warning("resuming jobs of dead workers", jobs=[r["id"] for r in rows])
                    self.jobs.wake.set()
                await self.jobs.expire_finishing(self.settings.executor_finishing_timeout_seconds)
            except Exception as e:  # noqa: BLE001 - as the workers: the sweeper must live on
                log.warning("lease sweep failed", error=str(e))

    async def _heartbeat(self, job_id: str, flags: dict[str, bool]) -> None:
        while True:
            await asyncio.sleep(self.settings.executor_lease_seconds / 3)
            try:
                async with self.pool.acquire() as conn:
                    cancel = await repo.renew_lease(conn, job_id, self.owner, self.settings.executor_lease_seconds)
            except Exception:  # noqa: BLE001 - a lost database: renew at the next beat
                continue
            if cancel is None:
                flags["lost"] = True
                return
            flags["cancel"] = bool(cancel)

    # --- one run ------------------------------------------------------------------------------

    async def run(self, job: asyncpg.Record) -> None:
        flags = {"lost": False, "cancel": bool(job["cancel_requested"])}
        beat = asyncio.create_task(self._heartbeat(job["id"], flags))
        log.info("job started", job_id=job["id"], connection_id=job["connection_id"],
                 data_model=job["data_model"], full_sync=job["full_sync"], attempt=job["attempt"])
        try:
            await self._run(job, flags)
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat

    async def _run(self, job: asyncpg.Record, flags: dict[str, bool]) -> None:
        s = self.settings
        definition = get_definition(job["provider_name"])
        name = job["data_model"].upper()
        model = definition.models.get(name) if definition else None
        if definition is None or model is None:
            await self._end(job, "failed", f"unknown provider or data model: {job['provider_name']}/{job['data_model']}", {})
            return
        state: dict[str, Any] = dict(job["pagination_state"] or {})
        if "window_end" not in state:
            # Fixed once per job, so a resumed run asks for the same window.
            async with self.pool.acquire() as conn:
                ms = await repo.model_state(conn, job["connection_id"], job["data_model"])
                start = domain.window_start(full_sync=job["full_sync"], sync_from=job["sync_from"],
                                            high_water_mark=ms["high_water_mark"] if ms else None)
                end = domain.utcnow()
                await repo.set_window(conn, job["id"], start, end)
            state.update(window_start=start.isoformat() if start else None, window_end=end.isoformat(),
                         pages=0, fetched=0, high_water_mark=None, started_at=end.isoformat(),
                         full_sync=job["full_sync"] or model.incremental is None)
        # A model without incremental support asks for everything every time.
        since = domain.parse_time(state.get("window_start")) if model.incremental else None
        cutoff = domain.cutoff(job["sync_from"])

        try:
            creds = await self.credentials.get(job["connection_id"])
        except CredentialsError as e:
            await self._retry_or_fail(job, state, e.message, retryable=e.retryable)
            return
        client = client_for(definition, creds, self.http)

        async def fetch(client: Any, position: dict[str, Any] | None) -> Page:
            await self.budget.acquire(job["connection_id"], definition.rate_limit)
            return await fetch_page(client, name, model, position, since)

        # The next page is asked for while this one is being saved, so the provider's latency and
        # Postgres's overlap. It is the page the checkpoint will point at: its failure is handled
        # exactly as if it had been asked for afterwards.
        ahead: asyncio.Task[Page] | None = None
        refreshed = False
        page_failures = 0
        try:
            while True:
                if flags["lost"]:
                    raise LostLease(job["id"])
                if flags["cancel"]:
                    await self._end(job, "cancelled", "cancelled by request", state)
                    return
                try:
                    task, ahead = ahead, None
                    page = await (task if task is not None else fetch(client, paging_state(state)))
                except RateLimited as e:
                    await self.budget.slow_down(job["connection_id"], e.retry_after)
                    if e.retry_after > s.executor_max_inline_wait_seconds:
                        await self._park(job, state, e.retry_after, "rate limited by the provider")
                        return
                    continue  # the budget waits out Retry-After before the next request
                except AuthExpired as e:
                    if refreshed or creds.access_token is None:
                        await self._end(job, "failed", f"auth_error: {e.message} even after a token refresh", state)
                        return
                    try:
                        creds = await self.credentials.get(job["connection_id"], rejected=creds.access_token)
                    except CredentialsError as ce:
                        if ce.message.startswith(("auth_error", "provider_")):
                            await self._retry_or_fail(job, state, ce.message, retryable=ce.retryable)
                        else:
                            await self._end(job, "failed", f"auth_error: {ce.message}", state)
                        return
                    client = client_for(definition, creds, self.http)
                    refreshed = True
                    continue
                except ProviderUnavailable as e:
                    page_failures += 1
                    if page_failures <= s.executor_page_retries:
                        await asyncio.sleep(s.executor_retry_base_seconds * 2 ** (page_failures - 1))
                        continue
                    await self._retry_or_fail(job, state, e.message, retryable=True)
                    return
                except AccessDenied as e:
                    await self._end(job, "failed", f"access_denied: {e.message}", state)
                    return
                except ConnectorError as e:
                    await self._end(job, "failed", e.message, state)
                    return
                page_failures = 0
                if page.pause:
                    await self.budget.slow_down(job["connection_id"], page.pause)
                if page.next_state is not None:
                    ahead = asyncio.create_task(fetch(client, page.next_state))
                await self._save_page(job, state, page, cutoff, model)
                if page.next_state is None:
                    return
        finally:
            if ahead is not None and not ahead.done():
                ahead.cancel()
            if ahead is not None:
                with contextlib.suppress(BaseException):
                    await ahead  # its outcome belongs to a run that is over

    async def _save_page(self, job: asyncpg.Record, state: dict[str, Any], page: Page,
                         cutoff: datetime | None, model: Model) -> None:
        next_state = page.next_state
        hwm = domain.parse_time(state.get("high_water_mark"))
        kept, ids = [], []
        for r, rid in zip(page.records, page.ids, strict=True):
            ts = record_time(model, r)
            if cutoff is not None and ts is not None and ts < cutoff:
                continue  # before sync_from: outside the window this job covers
            if ts is not None and (hwm is None or ts > hwm):
                hwm = ts
            kept.append(r)
            ids.append(rid)
        n = int(state.get("pages", 0)) + 1
        state.pop("cursor", None)
        state.update(paging=next_state, pages=n,
                     fetched=int(state.get("fetched", 0)) + len(kept),
                     high_water_mark=hwm.isoformat() if hwm else None)
        events: list[Envelope[Any]] = []
        if kept or page.deleted_ids:
            same = all(str(r.get("id")) == i for r, i in zip(kept, ids, strict=True))
            events.append(self._event(job, RecordsFetched(item=RecordsPage(
                job_id=job["id"], data_model=job["data_model"], page=n, records=kept,
                ids=None if same else ids, deleted_ids=page.deleted_ids,
                is_initial_sync=job["is_initial_sync"], full_sync=_full(job, state))),
                id=domain.page_event_id(job["id"], n)))
        if events and self.producer is not None:
            # Acknowledged before the checkpoint commits: a crash in between publishes the page
            # again, under the same id, when the job resumes.
            await outbox.publish_now(self.producer, events)
            events = []
        async with self.pool.acquire() as conn, conn.transaction():
            row = await repo.checkpoint(conn, job["id"], self.owner, state, state["fetched"],
                                        self.settings.executor_lease_seconds)
            if row is None:
                raise LostLease(job["id"])
            if next_state is None:
                events.append(self._end_marker(job, "complete", None, state))
                row = await repo.transition(conn, job["id"], status="running", phase="finishing", owner=self.owner)
            await outbox.add(conn, events)

    def _event(self, job: asyncpg.Record, payload: RecordsFetched, **extra: Any) -> Envelope[Any]:
        return Envelope.of(payload, project_id=job["project_id"], connection_id=job["connection_id"],
                           **extra)

    def _end_marker(self, job: asyncpg.Record, status: str, error: str | None, state: dict[str, Any]) -> Envelope[Any]:
        return self._event(job, RecordsFetched(item=RecordsEnd(
            job_id=job["id"], batch_id=job["batch_id"], data_model=job["data_model"],
            provider_name=job["provider_name"], status=status,  # type: ignore[arg-type]
            full_sync=_full(job, state), is_initial_sync=job["is_initial_sync"], sync_from=job["sync_from"],
            pages=int(state.get("pages", 0)), fetched=int(state.get("fetched", 0)), error=error,
            started_at=domain.parse_time(state.get("started_at")),
            high_water_mark=domain.parse_time(state.get("high_water_mark")),
        )))

    async def _end(self, job: asyncpg.Record, status: str, error: str | None, state: dict[str, Any]) -> None:
        """End a run as failed or cancelled; the records service still reports it (sync_failed)."""
        async with self.pool.acquire() as conn, conn.transaction():
            if state:
                await repo.checkpoint(conn, job["id"], self.owner, state, int(state.get("fetched", 0)),
                                      self.settings.executor_lease_seconds)
            row = await repo.transition(conn, job["id"], status=status, phase="done", owner=self.owner,
                                        error=error, completed=True)
            if row is None:
                raise LostLease(job["id"])
            await outbox.add(conn, [self._end_marker(job, status, error, state), changed(row, "running")])
        log_end(row)

    async def _park(self, job: asyncpg.Record, state: dict[str, Any], seconds: float, why: str) -> None:
        """Free the worker; the job comes back when the provider allows it (same checkpoint)."""
        resume = domain.utcnow().timestamp() + seconds
        async with self.pool.acquire() as conn, conn.transaction():
            await repo.checkpoint(conn, job["id"], self.owner, state, int(state.get("fetched", 0)),
                                  self.settings.executor_lease_seconds)
            row = await repo.transition(
                conn, job["id"], status="pending_retry", phase="fetching", owner=self.owner,
                error=f"{why}; resuming in {seconds:.0f}s",
                run_after=datetime.fromtimestamp(resume, domain.utcnow().tzinfo),
            )
            if row is None:
                raise LostLease(job["id"])
            await outbox.add(conn, [changed(row, "running")])

    async def _retry_or_fail(self, job: asyncpg.Record, state: dict[str, Any], error: str, *, retryable: bool) -> None:
        failures = int(state.get("failures", 0)) + 1
        state["failures"] = failures
        if not retryable or failures >= self.settings.executor_max_attempts:
            await self._end(job, "failed", error, state)
            return
        await self._park(job, state, domain.retry_delay(failures, self.settings.executor_retry_base_seconds), error)

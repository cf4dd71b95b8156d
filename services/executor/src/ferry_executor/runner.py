"""Workers that claim sync jobs and run them (`job_run.py`), and the sweeper of dead runs.

A lease, renewed by a heartbeat, tells a live run from a dead one: a run whose worker died
resumes from its checkpoint on any worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Awaitable, Callable

import asyncpg
from ferry_kit import logging as klog

from .checkpoint import LostLease
from .domain import Job
from .events import emit_changed
from .job_run import Flags, JobRun, RunDeps

log = klog.get("ferry.executor.runner")

Sweep = Callable[[], Awaitable[int]]


def owner_name(of: object) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{id(of):x}"


class Runner:
    """`wake` is set when a job becomes runnable in this process; `sweeps` run after each lease
    period (queue runs of dead workers again, fail jobs stuck finishing)."""

    def __init__(self, deps: RunDeps, wake: asyncio.Event, sweeps: list[Sweep]) -> None:
        self.deps = deps
        self.settings = deps.settings
        self.wake = wake
        self.sweeps = sweeps
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

    async def _worker(self) -> None:
        while not self._stopping:
            # Cleared before looking, so a job committed while this worker looks still wakes it.
            self.wake.clear()
            try:
                job, idle = await self._claim()
            except asyncpg.UniqueViolationError:
                continue  # another worker started that (connection, model) a moment ago
            except Exception as e:  # noqa: BLE001 - a database lost mid-claim (a restart) raises
                # InterfaceError or InternalClientError besides PostgresError: the worker lives on
                log.warning("claiming jobs failed", error=str(e))
                await asyncio.sleep(1.0)
                continue
            if job is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), idle)
                continue
            self.wake.set()  # there may be more: an idle sibling looks next
            try:
                await self.run(job)
            except LostLease:
                log.warning("job taken over by another worker", job_id=job.id)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # a bug must not kill the worker: the lease expires, it resumes
                log.exception("job run crashed", job_id=job.id, error=str(e))
                await asyncio.sleep(1.0)

    async def _claim(self) -> tuple[Job | None, float]:
        """The next job, leased to this worker; else how long an idle worker may sleep: until
        the next waiting job is due, within bounds. Jobs queued in this process wake the workers
        at once; the sleep only catches jobs that become due later (parked ones) and jobs queued
        by another replica."""
        s = self.settings
        async with self.deps.uow() as uow:
            job = await uow.repos.claim_next(self.deps.owner, s.executor_lease_seconds)
            if job is not None:
                emit_changed(uow, job, "queued")
                idle = 0.0
            else:
                due = await uow.repos.seconds_until_next_due()
                idle = s.executor_idle_poll_seconds if due is None else min(
                    s.executor_idle_poll_seconds, max(s.executor_poll_seconds, due))
            await uow.commit()
        return job, idle

    async def _sweeper(self) -> None:
        while not self._stopping:
            await asyncio.sleep(max(0.5, self.settings.executor_lease_seconds / 3))
            try:
                for sweep in self.sweeps:
                    if await sweep():
                        self.wake.set()
            except Exception as e:  # noqa: BLE001 - as the workers: the sweeper must live on
                log.warning("lease sweep failed", error=str(e))

    async def _heartbeat(self, job_id: str, flags: Flags) -> None:
        lease = self.settings.executor_lease_seconds
        while True:
            await asyncio.sleep(lease / 3)
            try:
                async with self.deps.uow.read() as repos:
                    cancel = await repos.renew_lease(job_id, self.deps.owner, lease)
            except Exception:  # noqa: BLE001 - a lost database: renew at the next beat
                continue
            if cancel is None:
                flags.lost = True
                return
            flags.cancel = bool(cancel)

    async def run(self, job: Job) -> None:
        flags = Flags(cancel=job.cancel_requested)
        beat = asyncio.create_task(self._heartbeat(job.id, flags))
        log.info("job started", job_id=job.id, connection_id=job.connection_id,
                 data_model=job.data_model, full_sync=job.full_sync, attempt=job.attempt)
        try:
            await JobRun(self.deps, job, flags).run()
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat

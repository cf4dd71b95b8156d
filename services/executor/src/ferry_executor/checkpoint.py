"""A run's pages on their way out: each published at once, each checkpoint committed in page
order once its page is acknowledged.

A page's publish overlaps the previous page's checkpoint (and the provider's next answer), and
still no checkpoint points past a page the broker has not acknowledged: a run that dies resumes
at the first page not checkpointed, published again under the same id (the inbox drops it).

A checkpoint is one statement, no transaction; once every `progress_seconds` it is committed
with a `sync.job.changed` instead (the outbox), so the job's progress (its `fetched` count and
`pagination_state`) reaches the gateway's copy of the job while it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable
from typing import Any

from ferry_contracts import Envelope
from ferry_kit import outbox
from ferry_kit.uow import UnitOfWorkFactory

from .events import emit_changed
from .repository import Repository


class LostLease(Exception):
    """Another worker took the job over (this one was presumed dead) or it was deleted."""


class Checkpoints:
    """At most two pages in flight: the one whose checkpoint commits, and the next one."""

    def __init__(self, uow: UnitOfWorkFactory[Repository], producer: Any, job_id: str,
                 owner: str, lease_seconds: float, progress_seconds: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.uow, self.producer = uow, producer
        self.job_id, self.owner, self.lease_seconds = job_id, owner, lease_seconds
        self._last: asyncio.Task[None] | None = None
        self._every, self._clock = progress_seconds, clock
        self._shown_at = clock() + progress_seconds if progress_seconds else math.inf

    async def save(self, events: list[Envelope[Any]], state: dict[str, Any]) -> None:
        """Publish a page's events now and checkpoint `state` once they are acknowledged;
        returns when the previous page's checkpoint has committed."""
        sent = asyncio.ensure_future(outbox.publish_now(self.producer, events)) if events else None
        previous = self._last
        self._last = asyncio.create_task(self._commit(previous, sent, dict(state)))
        if previous is not None:
            await previous

    async def drain(self) -> None:
        """Wait until every page saved so far is acknowledged and checkpointed."""
        last, self._last = self._last, None
        if last is not None:
            await last

    async def abandon(self) -> None:
        """The run is over: what is still in flight is dropped (its pages come again)."""
        last, self._last = self._last, None
        if last is not None:
            last.cancel()
            with contextlib.suppress(BaseException):
                await last

    async def _commit(self, previous: asyncio.Task[None] | None,
                      sent: asyncio.Future[None] | None, state: dict[str, Any]) -> None:
        try:
            if previous is not None:
                await previous
            if sent is not None:
                await sent
        except BaseException:
            if sent is not None:
                sent.cancel()
            raise
        if self._every and self._clock() >= self._shown_at:
            self._shown_at = self._clock() + self._every
            await self._commit_shown(state)
            return
        # One statement: no transaction (BEGIN and COMMIT would triple its round trips).
        async with self.uow.read() as repos:
            held = await repos.checkpoint(self.job_id, self.owner, state, self.lease_seconds)
        if not held:
            raise LostLease(self.job_id)

    async def _commit_shown(self, state: dict[str, Any]) -> None:
        """The checkpoint and the job as it now is (`sync.job.changed`), in one transaction."""
        async with self.uow() as uow:
            job = await uow.repos.checkpoint_job(self.job_id, self.owner, state,
                                                 self.lease_seconds)
            if job is None:
                raise LostLease(self.job_id)
            emit_changed(uow, job, "running")
            await uow.commit()

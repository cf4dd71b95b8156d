"""Where a job poll's answer comes from (`JobBoard`): the copies of sync jobs this gateway
process was told of or read lately, else the gateway's stored copy if the executor said it
recently, else the executor itself (its answer kept). So a poll usually needs neither the
executor nor Postgres: on a machine busy with a sync, each process a request crosses answers
late, and Postgres's round trip was half a poll's p99.

How long a copy is trusted here:
- one this process's consumer stored (`told`): as long as the stored copy is, until
  `max_age` after the executor said it. The job's events all come to the consumer reading its
  partition, so a newer one would have replaced it here first;
- one read from Postgres or answered by the executor (`read`): `READ_SECONDS` at most, since
  another gateway process may be storing newer ones meanwhile.
A cancel through this process forgets the job. At most `MAX_JOBS` copies: the oldest entry goes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from ferry_contracts.internal.executor import JobOut
from ferry_kit.clock import Clock
from ferry_kit.uow import UnitOfWorkFactory

from .domain import JobCopy, job_copy
from .repository import JobCopies

MAX_JOBS = 10_000
READ_SECONDS = 0.25


class RecentJobs:
    def __init__(self, max_age_seconds: float) -> None:
        self._max_age = timedelta(seconds=max_age_seconds)
        self._jobs: OrderedDict[str, tuple[JobCopy, datetime]] = OrderedDict()

    def get(self, job_id: str, now: datetime) -> JobCopy | None:
        hit = self._jobs.get(job_id)
        if hit is None:
            return None
        if now > hit[1]:
            del self._jobs[job_id]
            return None
        return hit[0]

    def told(self, copy: JobCopy) -> None:
        """A copy this process's consumer just stored (a newer one than Postgres had)."""
        self._keep(copy, copy.seen_at + self._max_age)

    def read(self, copy: JobCopy, now: datetime) -> None:
        """A copy read from Postgres, or the executor's answer."""
        self._keep(copy, min(now + timedelta(seconds=READ_SECONDS), copy.seen_at + self._max_age))

    def forget(self, job_id: str) -> None:
        self._jobs.pop(job_id, None)

    def _keep(self, copy: JobCopy, until: datetime) -> None:
        kept = self._jobs.get(copy.id)
        if kept is not None and (kept[0].version or 0) > (copy.version or 0):
            return  # an older copy never replaces a newer one
        self._jobs[copy.id] = (copy, until)
        self._jobs.move_to_end(copy.id)
        while len(self._jobs) > MAX_JOBS:
            self._jobs.popitem(last=False)


class JobBoard:
    """A job as a poll is answered, and what a change made through this process does to it."""

    def __init__(self, stored: UnitOfWorkFactory[JobCopies], clock: Clock,
                 max_age_seconds: float) -> None:
        self.stored, self.clock, self.max_age = stored, clock, max_age_seconds
        self.recent = RecentJobs(max_age_seconds)  # the consumer tells it what it stored

    async def job(self, job_id: str, ask: Callable[[], Awaitable[JobOut]]) -> JobCopy:
        """The freshest copy this process trusts; else the executor's answer (`ask`), kept."""
        now = self.clock.now()
        if (copy := self.recent.get(job_id, now)) is not None:
            return copy
        async with self.stored.read() as copies:
            copy = await copies.get(job_id)
        if copy is not None and copy.is_fresh(now, self.max_age):
            self.recent.read(copy, now)
            return copy
        answered = job_copy(await ask(), now)
        if answered.version is not None:  # without one it cannot be ordered: not kept
            async with self.stored.read() as copies:
                await copies.save(answered)
            self.recent.read(answered, now)
        return answered

    async def changed(self, job_id: str) -> None:
        """The job was just changed through this process (a cancel): its next poll asks the
        executor, so the caller sees the change."""
        async with self.stored.read() as copies:
            await copies.doubt(job_id)
        self.recent.forget(job_id)

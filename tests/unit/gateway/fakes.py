"""In-memory stand-ins for the gateway's storage, with the rules of its SQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime

from ferry_gateway.domain import JobCopy

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # what `queries.DOUBT_JOB` sets


class FakeJobCopies:
    """`repository.JobCopies` and the `read()` of its unit-of-work factory: the newest version
    of a job wins, the same version said later moves only its `seen_at`."""

    def __init__(self) -> None:
        self.copies: dict[str, JobCopy] = {}

    @asynccontextmanager
    async def read(self) -> AsyncIterator[FakeJobCopies]:
        yield self

    async def save(self, copy: JobCopy) -> bool:
        kept = self.copies.get(copy.id)
        assert copy.version is not None
        if kept is None or kept.version is None or kept.version < copy.version or (
                kept.version == copy.version and kept.seen_at < copy.seen_at):
            self.copies[copy.id] = copy
            return True
        return False

    async def get(self, job_id: str) -> JobCopy | None:
        return self.copies.get(job_id)

    async def doubt(self, job_id: str) -> None:
        if job_id in self.copies:
            self.copies[job_id] = replace(self.copies[job_id], seen_at=EPOCH)

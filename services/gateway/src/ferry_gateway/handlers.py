"""What the gateway does with events: it keeps a copy of each sync job (`sync.job.changed`),
so the job polls of dashboards are answered without a call to the executor.

Each handler runs inside a unit of work the kit opened (inbox claimed, committed with it).
"""

from __future__ import annotations

from typing import Final

from ferry_contracts import Envelope
from ferry_contracts.sync import SyncJobChanged
from ferry_contracts.topics import SYNC_JOB_CHANGED
from ferry_kit.dispatch import EventHandler
from ferry_kit.uow import UnitOfWork

from .domain import changed_job, job_copy
from .jobcache import RecentJobs
from .repository import JobCopies


async def on_sync_job_changed(
    event: Envelope[SyncJobChanged], uow: UnitOfWork[JobCopies], recent: RecentJobs
) -> None:
    """The job as the event says it, at the time the executor said it (a consumer running
    behind keeps copies that are already old, and the executor is asked again); this process
    answers the job's polls from it too."""
    changed = event.data
    copy = job_copy(changed_job(changed.job, event.project_id, changed.version), event.occurred_at)
    # Without a version a copy cannot be ordered: the executor is asked instead.
    if copy.version is not None and await uow.repos.save(copy):
        recent.told(copy)


HANDLERS: Final[dict[str, EventHandler]] = {SYNC_JOB_CHANGED: on_sync_job_changed}

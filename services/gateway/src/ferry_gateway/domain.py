"""Project credentials (key formats and digests) and the copies of sync jobs. No I/O."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime

import orjson
from ferry_contracts.internal.executor import JobOut
from ferry_contracts.sync import SyncJob

SECRET_KEY_PREFIX = "fsk_"
PROJECT_ID = re.compile(r"proj_[0-9a-f]{16}")


@dataclass(frozen=True)
class Project:
    id: str
    name: str
    signing_key: str = field(repr=False)  # secrets are never printed, even by accident
    created_at: datetime


@dataclass(frozen=True)
class NewProject:
    project: Project
    secret_key: str = field(repr=False)


def new_project_id() -> str:
    return "proj_" + secrets.token_hex(8)


def new_secret_key() -> str:
    return SECRET_KEY_PREFIX + secrets.token_urlsafe(32)


def new_signing_key() -> str:
    return "fsig_" + secrets.token_urlsafe(32)


def digest(secret_key: str) -> bytes:
    return hashlib.sha256(secret_key.encode()).digest()


def audience(public_host: str, project_id: str) -> str:
    return f"{public_host}/{project_id}"


@dataclass(frozen=True)
class JobCopy:
    """The gateway's copy of a sync job: its public JSON (`body`) at one version of the
    executor's row, and when the executor said that version was the newest (`seen_at`)."""

    id: str
    project_id: str | None
    connection_id: str
    version: int | None  # None: from an executor that does not say it (never kept)
    body: str
    seen_at: datetime

    def is_fresh(self, now: datetime, max_age_seconds: float) -> bool:
        """Trusted for `max_age_seconds` after the executor last said it: a running job's
        progress arrives every second, and a copy whose events stopped coming (the consumer
        behind, an event lost to the dead-letter topic) is asked of the executor again."""
        return (now - self.seen_at).total_seconds() <= max_age_seconds


def job_copy(job: JobOut, seen_at: datetime) -> JobCopy:
    """A copy of the executor's answer, or of a `sync.job.changed`'s job (`changed_job`)."""
    body = orjson.dumps(job.public()).decode()
    return JobCopy(id=job.id, project_id=job.project_id, connection_id=job.connection_id,
                   version=job.version, body=body, seen_at=seen_at)


def changed_job(job: SyncJob, project_id: str | None, version: int | None) -> JobOut:
    """A `sync.job.changed`'s job as the executor answers it (`GET /internal/syncs/{id}`)."""
    return JobOut.model_validate(
        {**job.model_dump(mode="json"), "project_id": project_id, "version": version})

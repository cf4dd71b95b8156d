"""Executor settings (FERRY_ prefix)."""

from __future__ import annotations

from ferry_kit.settings import KitSettings
from pydantic import Field


class Settings(KitSettings):
    # Jobs fetched at once by one executor process.
    executor_concurrency: int = Field(4, ge=1)
    # A worker that stops renewing its lease for this long is presumed dead; its job resumes.
    executor_lease_seconds: float = Field(15.0, gt=0)
    # An idle worker sleeps until the next waiting job is due, at least the first and at most
    # the second; a job queued in this process wakes it at once.
    executor_poll_seconds: float = Field(0.25, gt=0)
    executor_idle_poll_seconds: float = Field(10.0, gt=0)
    # Publish each page straight to the bus, acknowledged before its checkpoint commits, rather
    # than through an outbox row (false: the outbox, as every other event).
    executor_publish_pages_directly: bool = True
    # A running job's progress (`fetched`, `pagination_state`) goes out on `sync.job.changed`
    # at most this often, with the checkpoint of a page (the gateway answers job polls from it).
    executor_progress_seconds: float = Field(1.0, gt=0)
    # The request budget of one connection is its provider's (the definition's rate_limit),
    # shared by its jobs and write-backs; these, when set, replace it for every provider.
    provider_requests_per_second: float | None = Field(None, gt=0)
    provider_burst: int | None = Field(None, ge=1)
    provider_timeout_seconds: float = Field(30.0, gt=0)
    # A 429 asking to wait longer than this parks the job as pending_retry and frees the worker.
    executor_max_inline_wait_seconds: float = Field(30.0, ge=0)
    # 5xx / timeouts: retries of one page inside a run, then the job is retried later.
    executor_page_retries: int = Field(3, ge=0)
    executor_retry_base_seconds: float = Field(1.0, ge=0)
    executor_max_attempts: int = Field(5, ge=1)
    # A job whose end marker went out this long ago without a sync.completed fails (the marker
    # or the answer was dead-lettered), so its model syncs again. Above the records backlog.
    executor_finishing_timeout_seconds: float = Field(3600.0, gt=0)

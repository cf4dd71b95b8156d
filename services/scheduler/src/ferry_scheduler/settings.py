"""Scheduler settings (FERRY_ prefix)."""

from __future__ import annotations

from ferry_kit.settings import KitSettings
from pydantic import Field


class Settings(KitSettings):
    scheduler_poll_seconds: float = Field(1.0, gt=0)
    # Due schedules claimed per transaction.
    scheduler_batch_size: int = Field(1000, ge=1, le=50_000)
    # Each next run lands up to this share of its interval later, so connections made at the
    # same minute do not all sync at the same second (capped by scheduler_max_jitter_seconds).
    scheduler_jitter_fraction: float = Field(0.1, ge=0, le=1)
    scheduler_max_jitter_seconds: float = Field(900.0, ge=0)

"""Webhooks settings (FERRY_ prefix)."""

from __future__ import annotations

from ferry_kit.settings import KitSettings
from pydantic import Field

# Exponential-ish backoff lasting a little over 3 days in total.
DEFAULT_SCHEDULE = [5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 43200, 86400, 86400, 86400]


class Settings(KitSettings):
    # Delay before each retry; once every delay is used, the message is `failed`.
    webhooks_retry_schedule_seconds: list[float] = Field(
        default_factory=lambda: list(DEFAULT_SCHEDULE))
    webhooks_timeout_seconds: float = Field(10.0, gt=0)
    # A claimed message comes back to other workers after this (at least timeout + 1 s).
    webhooks_lease_seconds: float = Field(60.0, gt=0)
    # An endpoint failing without a single success for this long is disabled.
    webhooks_disable_after_hours: float = Field(120.0, gt=0)
    # Requests in flight to one endpoint (a slow endpoint holds at most this many of the
    # process's slots), and in all. Deliveries are I/O-bound: 16/128 sustain ~1,400/s here.
    webhooks_endpoint_concurrency: int = Field(16, ge=1, le=256)
    webhooks_max_in_flight: int = Field(128, ge=1, le=4096)
    webhooks_claim_batch: int = Field(200, ge=1, le=5000)
    # An ordered lane is delivered by one worker a message after another, with no claim for
    # each: it reads this many of the lane's messages at a time, and sends on while at most
    # this many of its attempts wait to be recorded (a crash sends those again; receivers
    # dedupe by webhook-id). After the slice, it lets other lanes of the endpoint have a turn.
    webhooks_lane_batch: int = Field(500, ge=1, le=10000)
    webhooks_lane_slice_seconds: float = Field(5.0, gt=0)
    # LISTEN/NOTIFY wakes the workers at once; an idle loop sleeps until the next retry is due,
    # at least the first and at most the second of these.
    webhooks_poll_seconds: float = Field(0.1, gt=0)
    webhooks_idle_poll_seconds: float = Field(10.0, gt=0)
    # Lets endpoints on loopback through the SSRF guard, for `ferry dev` and tests only; no
    # other non-public address can be allowed.
    webhooks_allow_loopback_urls: bool = False
    webhooks_rotation_overlap_hours: float = Field(24.0, ge=0)

    @property
    def lease_seconds(self) -> float:
        return max(self.webhooks_lease_seconds, self.webhooks_timeout_seconds + 1)

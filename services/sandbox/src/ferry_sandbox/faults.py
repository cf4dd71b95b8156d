"""Injected faults (rate limit, errors, latency) and the per-token rate limiter they drive."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Faults:
    """0 turns a fault off."""

    rate_limit_per_second: float = 0.0
    error_rate: float = 0.0
    latency_ms: int = 0
    # The token endpoint answers this OAuth error to every grant ("" = off): `invalid_grant`,
    # `invalid_client` (401), `unauthorized_client`, or `server_error` (a 503).
    token_error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class RateLimiter:
    """A token bucket per access token: `rate` requests a second, bursts up to max(rate, 1)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # token -> (tokens left, at)

    def take(self, key: str, rate: float) -> int | None:
        """None when allowed; else the whole seconds to wait (at least 1) for `Retry-After`."""
        now = self._clock()
        capacity = max(rate, 1.0)
        tokens, at = self._buckets.get(key, (capacity, now))
        tokens = min(capacity, tokens + max(0.0, now - at) * rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return None
        self._buckets[key] = (tokens, now)
        return max(1, math.ceil((1.0 - tokens) / rate))

    def reset(self) -> None:
        self._buckets.clear()

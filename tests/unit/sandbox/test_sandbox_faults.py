"""The per-token rate limiter behind the sandbox's 429s."""

from __future__ import annotations

from ferry_sandbox.faults import RateLimiter


class StillClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_token_may_burst_up_to_its_rate_then_must_wait_at_least_a_second():
    clock = StillClock()
    limiter = RateLimiter(clock)
    assert [limiter.take("t", 5) for _ in range(5)] == [None] * 5
    assert limiter.take("t", 5) == 1


def test_the_bucket_refills_with_time():
    clock = StillClock()
    limiter = RateLimiter(clock)
    assert limiter.take("t", 2) is None and limiter.take("t", 2) is None
    assert limiter.take("t", 2) == 1
    clock.now += 0.5
    assert limiter.take("t", 2) is None


def test_a_slow_rate_asks_for_a_longer_retry_after():
    limiter = RateLimiter(StillClock())
    assert limiter.take("t", 0.25) is None
    assert limiter.take("t", 0.25) == 4


def test_each_token_has_its_own_bucket():
    limiter = RateLimiter(StillClock())
    assert limiter.take("a", 1) is None
    assert limiter.take("a", 1) == 1
    assert limiter.take("b", 1) is None

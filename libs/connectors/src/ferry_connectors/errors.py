"""What a connector call can raise, and how a provider's answer maps onto it.

The executor acts on few decisions: refresh the token (`AuthExpired`), retry later
(`RateLimited`, `ProviderUnavailable`), fail the model (`AccessDenied`), fail the job
(`ProviderError`). A definition's `rate_limit` and `errors` say which answer means which.
"""

from __future__ import annotations

import math
import time
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from .definition import Definition, RateLimit


class ConnectorError(Exception):
    """Base of what a connector call can raise; `message` is fit to show a customer."""

    retryable = False

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class RateLimited(ConnectorError):
    retryable = True

    def __init__(self, message: str, *, retry_after: float, status: int | None = 429) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class AuthExpired(ConnectorError):
    """401 (or a declared refresh rule): the credentials are no longer accepted."""


class AccessDenied(ConnectorError):
    """403 (or a declared fail_model rule): the connection may not read or write this model."""


class ProviderUnavailable(ConnectorError):
    """5xx, timeouts, connection errors (or a declared retry_later rule): try again later."""

    retryable = True


class ProviderError(ConnectorError):
    """Any other 4xx (or a declared fail_job rule): retrying will not help."""


# A provider's Retry-After beyond a day is not believed (and 1e308 or inf must not overflow).
MAX_RETRY_AFTER_SECONDS = 86_400.0


def bounded_seconds(value: Any, *, maximum: float, default: float | None) -> float | None:
    """A provider-given number of seconds, clamped to [0, maximum] (inf and 1e308 included);
    `default` when it is not a number (nan, text, bool). Never raises."""
    if isinstance(value, bool):
        return default
    try:
        seconds = float(value)
    except OverflowError:  # an int past float's range
        seconds = math.inf if value > 0 else -math.inf
    except (TypeError, ValueError):
        return default
    if math.isnan(seconds):
        return default
    return min(max(seconds, 0.0), maximum)


def _clamp(seconds: Any) -> float | None:
    return bounded_seconds(seconds, maximum=MAX_RETRY_AFTER_SECONDS, default=None)


def retry_after(response: httpx.Response, default: float = 1.0,
                header: str = "retry-after") -> float:
    """Retry-After as seconds or as an HTTP date, clamped; `default` when absent or garbled."""
    value = response.headers.get(header, "").strip()
    seconds = _clamp(value)
    if seconds is None and value:  # not a number of seconds: an HTTP date
        try:
            when = parsedate_to_datetime(value)
            seconds = _clamp((when - datetime.now(when.tzinfo)).total_seconds())
        except (TypeError, ValueError, OverflowError):
            pass
    return default if seconds is None else seconds


def reset_wait(response: httpx.Response, limit: RateLimit) -> float | None:
    """Seconds until the declared reset header says the budget refills; None without one."""
    if limit.reset_header is None or limit.reset_header not in response.headers:
        return None
    raw = bounded_seconds(response.headers[limit.reset_header], maximum=math.inf, default=None)
    if raw is None:
        return None
    if limit.reset_format == "epoch_millis":
        raw = raw / 1000 - time.time()
    elif limit.reset_format == "epoch_seconds":
        raw = raw - time.time()
    return _clamp(raw)


def exhausted_wait(response: httpx.Response, limit: RateLimit) -> float | None:
    """After a successful answer: how long to pause when the declared remaining budget is 0."""
    if limit.remaining_header is None:
        return None
    remaining = bounded_seconds(response.headers.get(limit.remaining_header),
                                maximum=math.inf, default=None)
    if remaining is None or remaining >= 1:
        return None
    return reset_wait(response, limit) or 1.0


def _rate_limited(response: httpx.Response, what: str, limit: RateLimit) -> RateLimited:
    """Wait as Retry-After says, else until the declared reset header, else a second."""
    wait = retry_after(response, default=-1.0, header=limit.retry_after_header)
    if wait < 0:
        wait = reset_wait(response, limit) or 1.0
    return RateLimited(f"{what}: rate limited by the provider", retry_after=wait,
                       status=response.status_code)


_DECISIONS: dict[str, type[ConnectorError]] = {
    "refresh": AuthExpired, "retry_later": ProviderUnavailable,
    "fail_model": AccessDenied, "fail_job": ProviderError,
}


def raise_for(response: httpx.Response, what: str, definition: Definition | None = None) -> None:
    """Raise the error a provider's answer means, per its definition's rules, else the defaults."""
    status = response.status_code
    limit = definition.rate_limit if definition else RateLimit()
    if status < 400 and status not in limit.limited_statuses:
        return
    excerpt = response.text[:200]
    for rule in definition.errors if definition else ():
        if rule.status == status and (rule.body_contains is None or rule.body_contains in excerpt):
            if rule.decision == "rate_limited":
                raise _rate_limited(response, what, limit)
            raise _DECISIONS[rule.decision](f"{what}: the provider answered {status}: {excerpt}",
                                            status=status)
    if status in limit.limited_statuses:
        raise _rate_limited(response, what, limit)
    if status == 401:
        raise AuthExpired(f"{what}: the provider rejected the credentials (401)", status=status)
    if status == 403:
        raise AccessDenied(f"{what}: the connection lacks the permission for this (403): "
                           f"{excerpt}", status=status)
    if status >= 500:
        raise ProviderUnavailable(f"{what}: the provider answered {status}", status=status)
    raise ProviderError(f"{what}: the provider answered {status}: {excerpt}", status=status)

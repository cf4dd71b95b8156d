"""Numbers from a provider are clamped to sane bounds and never raise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from ferry_connectors.errors import MAX_RETRY_AFTER_SECONDS
from ferry_connectors.errors import retry_after as _retry_after

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("30", 30.0),
        ("1e308", MAX_RETRY_AFTER_SECONDS),
        ("9" * 400, MAX_RETRY_AFTER_SECONDS),
        ("inf", MAX_RETRY_AFTER_SECONDS),
        ("-inf", 0.0),
        ("nan", 1.0),
        ("NaN", 1.0),
        ("-5", 0.0),
        ("soon", 1.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
        ("Wed, 21 Oct 9999 07:28:00 GMT", MAX_RETRY_AFTER_SECONDS),
    ],
)
def test_retry_after_is_clamped_to_a_day_and_a_non_number_means_the_default(header, seconds):
    assert _retry_after(httpx.Response(429, headers={"retry-after": header})) == seconds


@pytest.mark.parametrize(
    ("expires_in", "expected"),
    [
        (3600, timedelta(hours=1)),
        (1e308, timedelta(days=366)),
        (float("inf"), timedelta(days=366)),
        (float("nan"), None),
        (-50, timedelta(0)),
        ("3600", timedelta(hours=1)),
        ("soon", None),
        (True, None),
        (None, None),
        (10**400, timedelta(days=366)),
    ],
)
def test_expires_in_is_clamped_to_a_year_and_a_non_number_means_unknown(expires_in, expected):
    from ferry_connections.oauth import _tokens

    tokens = _tokens({"access_token": "a", "expires_in": expires_in}, NOW)
    assert tokens.expires_at == (NOW + expected if expected is not None else None)

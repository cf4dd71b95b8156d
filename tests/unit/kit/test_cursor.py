"""Page cursors decode only what Ferry encoded."""

from __future__ import annotations

import base64

import pytest
from ferry_kit import cursor
from ferry_records import domain


def _raw(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def test_a_position_round_trips_up_to_the_largest_bigint():
    for n in (0, 1, 12345, cursor.BIGINT_MAX):
        assert cursor.decode_position(cursor.encode_position("v1", n), "v1") == n


@pytest.mark.parametrize("text", [
    "v1:99999999999999999999",  # past bigint
    "v1:9223372036854775808",  # bigint max + 1
    "v1:\u0663\u0664",  # Arabic-Indic digits
    "v1:\u00b2",  # superscript two: isdigit() but not int()
    "v1:-1", "v1: 1", "v1:1 ", "v1:01", "v1:", "v1", "v2:1", "seq:1", "v1:1\x00",
])
def test_nonsense_inside_a_well_formed_cursor_is_refused(text):
    assert cursor.decode_position(_raw(text), "v1") is None
    assert domain.decode_cursor(_raw(text)) is None


@pytest.mark.parametrize("value", ["", "%%%", "dj=x", "djE6MQ==", "a", "dj E6MQ", "x" * 200, "٣٤"])
def test_strings_that_are_not_base64_cursors_are_refused(value):
    assert cursor.decode(value) is None


def test_a_cursor_of_non_ascii_bytes_is_refused():
    assert cursor.decode(base64.urlsafe_b64encode(b"\xff\xfe").decode()) is None
    assert cursor.decode(cursor.encode("job_é")) is None

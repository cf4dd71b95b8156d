"""Opaque page cursors: URL-safe base64 of a short ASCII text, decoded strictly.

A cursor comes back from callers, so decoding refuses anything this module did not make
(`None`): no padding tricks, no non-ASCII digits, no number past Postgres' bigint.
"""

from __future__ import annotations

import base64
import re

BIGINT_MAX = 2**63 - 1
_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,128}")
_NUMBER = re.compile(r"0|[1-9][0-9]{0,18}")  # ASCII digits only: str.isdigit takes "٣" and "²"


def encode(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode(cursor: str) -> str | None:
    """The text inside a cursor, or None when it is not one (printable ASCII only)."""
    if not _SHAPE.fullmatch(cursor):
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return None
    return text if text.isprintable() else None


def encode_position(prefix: str, position: int) -> str:
    return encode(f"{prefix}:{position}")


def decode_position(cursor: str, prefix: str) -> int | None:
    """The position in a `<prefix>:<n>` cursor: a bigint ≥ 0, or None."""
    text = decode(cursor)
    if text is None:
        return None
    head, sep, number = text.partition(":")
    if head != prefix or not sep or not _NUMBER.fullmatch(number):
        return None
    position = int(number)
    return position if position <= BIGINT_MAX else None

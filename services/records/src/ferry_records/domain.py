"""Pure rules of the records service: canonical hashing, diffs, cursors."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import orjson
from ferry_kit import cursor

_CANON = orjson.OPT_SORT_KEYS


def canonical(data: dict[str, Any]) -> bytes:
    """Canonical JSON: sorted keys at every depth, no whitespace; key order is not a change."""
    return orjson.dumps(data, option=_CANON)


def content_hash(data: dict[str, Any]) -> tuple[bytes, bytes]:
    """(canonical JSON, its MD5): the stored hash that decides whether a record changed.

    Postgres cannot store the NUL character in jsonb, so a record holding one has it removed,
    in place: the `record.changed` event then carries what is stored."""
    raw = _canonical_any(data)
    if b"\\u0000" in raw:
        strip_nul(data)
        raw = _canonical_any(data)
    return raw, hashlib.md5(raw, usedforsecurity=False).digest()


def _canonical_any(data: dict[str, Any]) -> bytes:
    try:
        return canonical(data)
    except TypeError:  # an integer beyond 64 bits: the standard library handles any size
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def strip_nul(value: Any) -> Any:
    """Remove NUL characters from every string (keys too) of a JSON value, in place."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        value[:] = [strip_nul(v) for v in value]
    elif isinstance(value, dict):
        items = [(strip_nul(k), strip_nul(v)) for k, v in value.items()]
        value.clear()
        value.update(items)
    return value


def changed_fields(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Top-level fields whose value differs, with old and new values."""
    old = old or {}
    out = {}
    for key in old.keys() | new.keys():
        a, b = old.get(key), new.get(key)
        if canonical({"v": a}) != canonical({"v": b}):
            out[key] = {"old": a, "new": b}
    return out


def encode_cursor(position: int) -> str:
    return cursor.encode_position("v1", position)


def decode_cursor(value: str) -> int | None:
    return cursor.decode_position(value, "v1")


def provider_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def should_hold(deletions: int, live: int, threshold: float, minimum: int) -> bool:
    """The mass-delete guard: a provider outage returning empty pages must not wipe a model.

    Held: more than `threshold` of the live records when that is more than `minimum` records,
    and, whatever the size, a deletion of every live record of a model that had any (an empty
    answer wipes a small model as surely as a big one). A small model losing some records is
    normal and goes through."""
    if live <= 0 or deletions <= 0:
        return False
    if deletions >= live:
        return True
    return deletions > minimum and deletions / live > threshold

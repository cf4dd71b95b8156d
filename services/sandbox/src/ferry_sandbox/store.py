"""The sandbox's data, in memory: per account and model, records paged by keyset on
(updated_at, id).

Every change of a collection gets a strictly greater `updated_at` than any before it (a
monotonic microsecond clock), so:
- the sorted key list only ever grows at its end (appends, no re-sorting);
- `updated_since=T` (strictly after T) never loses a change made in the same microsecond;
- a cursor is just the last (updated_at, id) returned: it stays valid whatever changes meanwhile.

Pagination semantics while records change: a page starts strictly after the cursor's key. A
record changed during a pagination moves to the end of the order, so it is returned (again, with
its new values) on a later page; records that do not change are returned exactly once; deleted
records are never returned.
"""

from __future__ import annotations

import base64
import binascii
import random
import re
import time
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .fake_data import FIELDS, GENERATE, Context, changed_fields

MODELS = ("contacts", "invoices", "files")
_ID_PREFIX = {"contacts": "con", "invoices": "inv", "files": "fil"}
# Server-assigned fields a client cannot set.
_READ_ONLY = ("id", "updated_at")

Record = dict[str, Any]
Key = tuple[str, str]  # (updated_at, id): the order of every listing
Clock = Callable[[], float]


class InvalidValue(ValueError):
    """A request parameter the store cannot use; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def normalise_model(name: str) -> str | None:
    lowered = name.lower()
    return lowered if lowered in MODELS else None


# ---- time and cursors -------------------------------------------------------------------------

_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


class Stamps:
    """Strictly increasing RFC 3339 UTC timestamps with microseconds, never behind the clock."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._last_us = 0
        self._second = -1
        self._prefix = ""

    def next(self) -> str:
        return self.batch(1)[0]

    def batch(self, n: int) -> list[str]:
        first = max(int(self._clock() * 1_000_000), self._last_us + 1)
        self._last_us = first + n - 1
        out = []
        for us in range(first, first + n):
            second, fraction = divmod(us, 1_000_000)
            if second != self._second:  # formatting the date part once a second keeps seeding fast
                self._second = second
                self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            out.append(f"{self._prefix}.{fraction:06d}Z")
        return out


def parse_since(value: str) -> str:
    """Any RFC 3339 / ISO 8601 time as the canonical stamp form (naive means UTC)."""
    text = value.strip()
    # An unencoded '+' in a query string arrives as a space: '...T10:00:00 00:00'.
    text = re.sub(r" (\d\d:\d\d)$", r"+\1", text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as e:
        raise InvalidValue("updated_since", "must be an RFC 3339 date-time") from e
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def encode_cursor(key: Key) -> str:
    return base64.urlsafe_b64encode(f"{key[0]}|{key[1]}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> Key:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as e:
        raise InvalidValue("cursor", "is not a cursor returned by this API") from e
    stamp, sep, record_id = raw.partition("|")
    if not sep or not record_id or not _STAMP.match(stamp):
        raise InvalidValue("cursor", "is not a cursor returned by this API")
    return stamp, record_id


# ---- collections ------------------------------------------------------------------------------


class Collection:
    """The live records of one model of one account."""

    def __init__(self, model: str, rng: random.Random, clock: Clock) -> None:
        self.model = model
        self.records: dict[str, Record] = {}
        self.keys: list[Key] = []  # sorted; see the module docstring for why appends suffice
        self.numbered = 0  # generated records so far: invoice numbers follow on
        self.related_ids: list[str] = []  # invoices: the account's contact ids at generation time
        self._rng = rng
        self._stamps = Stamps(clock)
        self._prefix = _ID_PREFIX[model]

    def __len__(self) -> int:
        return len(self.records)

    def _new_ids(self, n: int) -> list[str]:
        raw = self._rng.randbytes(8 * n).hex()
        ids = [f"{self._prefix}_{raw[i : i + 16]}" for i in range(0, 16 * n, 16)]
        taken = self.records
        if len(set(ids)) == n and not any(rid in taken for rid in ids):
            return ids
        return self._new_ids(n)  # a 64-bit collision: draw again

    def _generate(self, heads: list[Key]) -> list[Record]:
        context = Context(next_number=self.numbered + 1, contact_ids=self.related_ids)
        self.numbered += len(heads)
        return GENERATE[self.model](self._rng, heads, context)

    def _put(self, record: Record) -> Record:
        self.records[record["id"]] = record
        insort(self.keys, (record["updated_at"], record["id"]))
        return record

    def _unlink(self, record: Record) -> None:
        key = (record["updated_at"], record["id"])
        i = bisect_left(self.keys, key)
        if i < len(self.keys) and self.keys[i] == key:
            del self.keys[i]

    def page(
        self, *, limit: int, after: Key | None = None, since: str | None = None
    ) -> tuple[list[Record], Key | None]:
        """Up to `limit` records after the cursor key and strictly after `since`, and the next
        cursor key."""
        start = 0
        if after is not None:
            start = bisect_right(self.keys, after)
        if since is not None:
            # Ids are ASCII, so (since, U+10FFFF) sorts after every key stamped exactly `since`.
            start = max(start, bisect_right(self.keys, (since, "\U0010ffff")))
        chunk = self.keys[start : start + limit]
        records = self.records
        rows = [records[rid] for _, rid in chunk]
        more = start + limit < len(self.keys)
        return rows, (chunk[-1] if more and chunk else None)

    def all(self) -> list[Record]:
        records = self.records
        return [records[rid] for _, rid in self.keys]

    def get(self, record_id: str) -> Record | None:
        return self.records.get(record_id)

    def create(self, fields: Record | None = None) -> Record:
        head = (self._stamps.next(), self._new_ids(1)[0])
        if fields is None:
            return self._put(self._generate([head])[0])
        data = {k: v for k, v in fields.items() if k not in _READ_ONLY}
        return self._put(
            {"id": head[1], "updated_at": head[0], **dict.fromkeys(FIELDS[self.model]), **data}
        )

    def update(self, record_id: str, fields: Record) -> Record | None:
        old = self.records.get(record_id)
        if old is None:
            return None
        self._unlink(old)
        data = {k: v for k, v in fields.items() if k not in _READ_ONLY}
        # A new dict, not an edit in place: a page already handed out keeps its values.
        return self._put({**old, **data, "updated_at": self._stamps.next()})

    def delete(self, record_id: str) -> bool:
        old = self.records.pop(record_id, None)
        if old is None:
            return False
        self._unlink(old)
        return True

    def seed(self, count: int) -> list[str]:
        # The newest stamps of this collection: appending keeps the key list sorted.
        heads = list(zip(self._stamps.batch(count), self._new_ids(count), strict=True))
        rows = self._generate(heads)
        self.records.update(zip((rid for _, rid in heads), rows, strict=True))
        self.keys.extend(heads)
        return [rid for _, rid in heads]

    def mutate(
        self, create: int, update: int, delete: int
    ) -> tuple[list[str], list[str], list[str]]:
        """Update and delete distinct existing records, then create new ones."""
        if update + delete > len(self.records):
            raise InvalidValue(
                "update",
                f"update + delete ({update + delete}) exceeds the {len(self.records)} records",
            )
        chosen = self._rng.sample(list(self.records), update + delete)
        updated, deleted = chosen[:update], chosen[update:]
        for rid in updated:
            self.update(rid, changed_fields(self.model, self._rng, self.records[rid]))
        for rid in deleted:
            self.delete(rid)
        created = [self.create()["id"] for _ in range(create)]
        return created, updated, deleted


class Store:
    """Every account's collections, created on first use."""

    def __init__(self, clock: Clock = time.time) -> None:
        self._clock = clock
        self._accounts: dict[str, dict[str, Collection]] = {}

    def collection(self, account: str, model: str) -> Collection:
        models = self._accounts.setdefault(account, {})
        found = models.get(model)
        if found is None:
            # Seeded per account and model: the same account gets the same-looking data each run.
            found = models[model] = Collection(
                model, random.Random(f"{account}/{model}"), self._clock
            )
        return found

    def seed(self, account: str, model: str, count: int) -> int:
        target = self.collection(account, model)
        if model == "invoices":
            target.related_ids = list(self.collection(account, "contacts").records)
        target.seed(count)
        return len(target)

    def mutate(
        self, account: str, model: str, create: int, update: int, delete: int
    ) -> tuple[list[str], list[str], list[str]]:
        target = self.collection(account, model)
        if model == "invoices":
            target.related_ids = list(self.collection(account, "contacts").records)
        return target.mutate(create, update, delete)

    def reset(self) -> None:
        self._accounts.clear()

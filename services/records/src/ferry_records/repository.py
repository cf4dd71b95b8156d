"""The records service's repository: named queries in, domain records out.

`Repository` is what handlers and views may ask; `PgRepository` answers it on one connection
inside the caller's transaction (the unit of work's)."""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import asyncpg
import orjson
from ferry_contracts.sync import SyncCounts
from ferry_kit.db import delete_in_batches

from . import queries as q
from .domain import (
    Deleted,
    KnownConnection,
    ModelState,
    PageCounts,
    StoredRecord,
    Version,
    Written,
)

# (record id, canonical JSON, hash, cursor position, provider time) of a record to store.
NewRecord = tuple[str, bytes, bytes, int, datetime | None]

_COPY_HEAD = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, no header extension
_COPY_TAIL = b"\xff\xff"
_NULL = b"\xff\xff\xff\xff"
_CREATED = struct.pack(">i", 7) + b"created"
_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def _text(value: str) -> bytes:
    raw = value.encode()
    return struct.pack(">i", len(raw)) + raw


def _instant(value: datetime | None) -> bytes:
    if value is None:
        return _NULL
    d = value - _PG_EPOCH
    return struct.pack(">iq", 8, (d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds)


@dataclass(frozen=True, slots=True)
class NewRecords:
    """Records with no row yet, and the same in COPY's binary form (`NEW_RECORD_COLUMNS`),
    encoded apart from the statement that sends it: the service encodes one chunk while
    Postgres runs the statement before."""

    connection_id: str
    data_model: str
    rows: list[NewRecord]
    copy: bytes

    @classmethod
    def of(cls, connection_id: str, data_model: str, rows: list[NewRecord]) -> NewRecords:
        pack = struct.pack
        lead = pack(">h", len(q.NEW_RECORD_COLUMNS)) + _text(connection_id) + _text(data_model)
        out = [_COPY_HEAD]
        for rid, data, h, pos, pua in rows:
            out += (lead, _text(rid), pack(">ib", len(data) + 1, 1), data,  # jsonb version 1
                    pack(">i", len(h)), h, _CREATED, pack(">iq", 8, pos), _instant(pua))
        out.append(_COPY_TAIL)
        return cls(connection_id, data_model, rows, b"".join(out))


def _versions_copy(
    connection_id: str, data_model: str, updates: list[tuple[str, int, dict[str, Any]]]
) -> bytes:
    """`updates` in COPY's binary form (`VERSION_COLUMNS`)."""
    pack, dumps = struct.pack, orjson.dumps
    lead = pack(">h", len(q.VERSION_COLUMNS)) + _text(connection_id) + _text(data_model)
    out = [_COPY_HEAD]
    for rid, pos, changes in updates:
        doc = dumps(changes)
        out += (lead, _text(rid), pack(">iq", 8, pos), pack(">ib", len(doc) + 1, 1), doc)
    out.append(_COPY_TAIL)
    return b"".join(out)


# Live records a full sync did not see: job id, `sync_from` window start, when the job began.
Unseen = tuple[str, datetime | None, datetime | None]


class Repository(Protocol):
    """What handlers and views may ask of the records service's storage."""

    # connections and the state of each model
    async def connection(self, connection_id: str) -> KnownConnection | None: ...
    async def remember_connection(
        self, connection_id: str, project_id: str | None, record_events: bool | None
    ) -> None: ...
    async def purge_connection(self, connection_id: str) -> None: ...
    async def set_model_state(
        self, connection_id: str, data_model: str, status: str, error: str | None,
        synced_at: datetime | None, held: int | None,
    ) -> None: ...
    async def model_states(self, connection_id: str) -> list[ModelState]: ...
    # ingest
    async def to_write(
        self, connection_id: str, data_model: str, ids: list[str], hashes: bytes,
        seen_by: str | None,
    ) -> tuple[dict[int, bool], int]: ...
    async def insert_new(self, new: NewRecords) -> None: ...
    async def insert_if_new(self, new: NewRecords) -> bool: ...
    async def upsert(
        self, connection_id: str, data_model: str, records: list[bytes], hashes: bytes,
        updated_at: list[datetime | None], positions: list[int],
    ) -> list[Written]: ...
    async def transaction_time(self) -> datetime: ...
    async def take_positions(self, connection_id: str, n: int) -> int: ...
    async def lock_cursor(self, connection_id: str) -> None: ...
    async def add_counts(
        self, job_id: str, connection_id: str, data_model: str, counts: PageCounts
    ) -> None: ...
    async def add_deleted(
        self, job_id: str, connection_id: str, data_model: str, deleted: int
    ) -> None: ...
    async def add_versions(
        self, connection_id: str, data_model: str,
        updates: list[tuple[str, int, dict[str, Any]]],
    ) -> None: ...
    # the end of a job
    async def seen_intact(self, job_id: str) -> bool: ...
    async def fetched_so_far(self, job_id: str) -> int: ...
    async def job_counts(self, job_id: str) -> SyncCounts: ...
    async def end_job(
        self, job_id: str, connection_id: str, data_model: str, deleted: int
    ) -> None: ...
    # deletions
    async def count_live(self, connection_id: str, data_model: str) -> int: ...
    async def count_unseen(self, connection_id: str, data_model: str, unseen: Unseen) -> int: ...
    async def hold_unseen(self, connection_id: str, data_model: str, unseen: Unseen) -> int: ...
    async def delete_unseen(
        self, connection_id: str, data_model: str, unseen: Unseen, first_position: int
    ) -> list[Deleted]: ...
    async def count_held_live(self, connection_id: str, data_model: str) -> int: ...
    async def delete_held(
        self, connection_id: str, data_model: str, first_position: int
    ) -> list[Deleted]: ...
    async def count_listed_live(
        self, connection_id: str, data_model: str, record_ids: list[str]
    ) -> int: ...
    async def hold_listed(
        self, connection_id: str, data_model: str, job_id: str, record_ids: list[str]
    ) -> int: ...
    async def delete_listed(
        self, connection_id: str, data_model: str, record_ids: list[str], first_position: int
    ) -> list[Deleted]: ...
    # reads
    async def page_of_changes(
        self, connection_id: str, data_model: str, after: int, limit: int,
        include_deleted: bool, modified_after: datetime | None,
    ) -> list[StoredRecord]: ...
    async def record(
        self, connection_id: str, data_model: str, record_id: str
    ) -> StoredRecord | None: ...
    async def versions(
        self, connection_id: str, data_model: str, record_id: str
    ) -> list[Version]: ...


def _count(status: str) -> int:
    """The row count of a command tag (`INSERT 0 12`)."""
    return int(status.split()[-1])


class PgRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    # --- connections and the state of each model --------------------------------------------

    async def connection(self, connection_id: str) -> KnownConnection | None:
        row = await self._conn.fetchrow(q.CONNECTION, connection_id)
        return KnownConnection(**row) if row is not None else None

    async def remember_connection(
        self, connection_id: str, project_id: str | None, record_events: bool | None
    ) -> None:
        await self._conn.execute(q.REMEMBER_CONNECTION, connection_id, project_id, record_events)

    async def purge_connection(self, connection_id: str) -> None:
        for statement in q.PURGE_CONNECTION:
            await self._conn.execute(statement, connection_id)

    async def set_model_state(
        self, connection_id: str, data_model: str, status: str, error: str | None,
        synced_at: datetime | None, held: int | None,
    ) -> None:
        await self._conn.execute(q.SET_MODEL_STATE, connection_id, data_model, synced_at, status,
                                 error, held)

    async def model_states(self, connection_id: str) -> list[ModelState]:
        return [ModelState(**r) for r in await self._conn.fetch(q.MODEL_STATES, connection_id)]

    # --- ingest -------------------------------------------------------------------------------

    async def to_write(
        self, connection_id: str, data_model: str, ids: list[str], hashes: bytes,
        seen_by: str | None,
    ) -> tuple[dict[int, bool], int]:
        """{index: whether a row is stored for it} of the records that need a write, and how
        many unchanged ones were noted as seen by `seen_by` (a full sync's job id)."""
        rows = await self._conn.fetch(q.TO_WRITE, connection_id, data_model,
                                      orjson.dumps(ids).decode(), hashes, seen_by)
        todo = {r["i"]: r["stored"] for r in rows if r["i"] is not None}
        return todo, sum(r["noted"] or 0 for r in rows)

    async def insert_new(self, new: NewRecords) -> None:
        """COPY records that have no row yet. The caller holds the connection's cursor lock,
        taken before it probed, so no other writer can have added one of these ids since."""
        # A memoryview: asyncpg would take bytes for a file name.
        await self._conn.copy_to_table(q.NEW_RECORD_TABLE, source=memoryview(new.copy),
                                       columns=q.NEW_RECORD_COLUMNS, format="binary")

    @asynccontextmanager
    async def _savepoint(self) -> AsyncIterator[None]:
        """A savepoint that is gone once the block ends: released, or rolled back to and
        released when Postgres refuses a statement of it. (asyncpg's nested transaction keeps
        the savepoint after a rollback, so all that follows would run inside it.)"""
        await self._conn.execute("SAVEPOINT ferry_attempt")
        try:
            yield
        except asyncpg.PostgresError:
            await self._conn.execute(
                "ROLLBACK TO SAVEPOINT ferry_attempt; RELEASE SAVEPOINT ferry_attempt")
            raise
        await self._conn.execute("RELEASE SAVEPOINT ferry_attempt")

    async def insert_if_new(self, new: NewRecords) -> bool:
        """`insert_new` for records not probed, taken to be new: in a savepoint, so that if one
        of them has a row after all, this COPY alone is undone (False, nothing written)."""
        try:
            async with self._savepoint():
                await self.insert_new(new)
        except asyncpg.UniqueViolationError:
            return False
        return True

    async def upsert(
        self, connection_id: str, data_model: str, records: list[bytes], hashes: bytes,
        updated_at: list[datetime | None], positions: list[int],
    ) -> list[Written]:
        """Store changed (or deleted and back) records; returns those written."""
        as_array = (b"[" + b",".join(records) + b"]").decode()
        rows = await self._conn.fetch(q.UPSERT_RECORDS, connection_id, data_model, as_array,
                                      hashes, updated_at, orjson.dumps(positions).decode())
        return [Written(*r) for r in rows]

    async def transaction_time(self) -> datetime:
        """`now()`: what this transaction writes as `modified_at`."""
        now: datetime = await self._conn.fetchval(q.TRANSACTION_TIME)
        return now

    async def take_positions(self, connection_id: str, n: int) -> int:
        """Reserve n consecutive cursor positions; returns the first. Holds the connection's
        cursor row lock until commit, so a later writer's positions commit after these."""
        last = await self._conn.fetchval(q.TAKE_POSITIONS, connection_id, n)
        return int(last) - n + 1

    async def lock_cursor(self, connection_id: str) -> None:
        """Take the connection's cursor lock before counting rows that will get positions."""
        await self._conn.execute(q.ENSURE_CURSOR, connection_id)
        await self._conn.execute(q.LOCK_CURSOR, connection_id)

    async def add_counts(
        self, job_id: str, connection_id: str, data_model: str, counts: PageCounts
    ) -> None:
        c = counts
        await self._conn.execute(q.ADD_COUNTS, job_id, connection_id, data_model, c.fetched,
                                 c.created, c.updated, c.unchanged, c.seen, c.first_position)

    async def add_deleted(
        self, job_id: str, connection_id: str, data_model: str, deleted: int
    ) -> None:
        """Deletions the provider listed during a job, counted before it ends."""
        await self._conn.execute(q.ADD_DELETED, job_id, connection_id, data_model, deleted)

    async def add_versions(
        self, connection_id: str, data_model: str,
        updates: list[tuple[str, int, dict[str, Any]]],
    ) -> None:
        """(record_id, cursor position, changed fields) of each update of this transaction, by
        COPY (a third of the Postgres time of a statement parsing them as one JSON array). A
        version already stored (none is: positions are never reused) makes the COPY fail in its
        savepoint, and the statement, which skips those, stores them instead."""
        if not updates:
            return
        try:
            async with self._savepoint():
                await self._conn.copy_to_table(
                    q.VERSION_TABLE, columns=q.VERSION_COLUMNS, format="binary",
                    source=memoryview(_versions_copy(connection_id, data_model, updates)))
        except asyncpg.UniqueViolationError:
            await self._conn.execute(q.ADD_VERSIONS, connection_id, data_model,
                                     orjson.dumps(updates).decode())

    # --- the end of a job -------------------------------------------------------------------

    async def seen_intact(self, job_id: str) -> bool:
        return bool(await self._conn.fetchval(q.SEEN_INTACT, job_id))

    async def fetched_so_far(self, job_id: str) -> int:
        """Records of the job's pages stored so far (each page once: the inbox sees to it)."""
        return int(await self._conn.fetchval(q.FETCHED_SO_FAR, job_id))

    async def job_counts(self, job_id: str) -> SyncCounts:
        row = await self._conn.fetchrow(q.JOB_COUNTS, job_id)
        if row is None:
            return SyncCounts()
        return SyncCounts(**{k: int(row[k]) for k in SyncCounts.model_fields})

    async def end_job(
        self, job_id: str, connection_id: str, data_model: str, deleted: int
    ) -> None:
        await self._conn.execute(q.FORGET_SEEN, job_id)
        await self._conn.execute(q.END_JOB, job_id, connection_id, data_model, deleted)

    async def prune_jobs(self, older_than_days: float) -> int:
        """Counts (and any seen ids) of jobs begun before the history's retention."""
        await self._conn.execute(q.PRUNE_SEEN, older_than_days)
        return await delete_in_batches(self._conn, q.PRUNE_JOBS, older_than_days)

    # --- deletions ----------------------------------------------------------------------------

    @asynccontextmanager
    async def _set_based(self) -> AsyncIterator[None]:
        await self._conn.execute(q.SET_BASED_ON)
        yield
        await self._conn.execute(q.SET_BASED_OFF)

    async def count_live(self, connection_id: str, data_model: str) -> int:
        return int(await self._conn.fetchval(q.COUNT_LIVE, connection_id, data_model))

    async def count_unseen(self, connection_id: str, data_model: str, unseen: Unseen) -> int:
        return int(await self._conn.fetchval(q.COUNT_UNSEEN, connection_id, data_model, *unseen))

    async def hold_unseen(self, connection_id: str, data_model: str, unseen: Unseen) -> int:
        """Hold (in place of any earlier hold of the model) what a full sync did not see."""
        await self._conn.execute(q.FORGET_HELD, connection_id, data_model)
        return _count(await self._conn.execute(q.HOLD_UNSEEN, connection_id, data_model, *unseen))

    async def delete_unseen(
        self, connection_id: str, data_model: str, unseen: Unseen, first_position: int
    ) -> list[Deleted]:
        async with self._set_based():
            rows = await self._conn.fetch(q.DELETE_UNSEEN, connection_id, data_model, *unseen,
                                          first_position)
        return [Deleted(*r) for r in rows]

    async def count_held_live(self, connection_id: str, data_model: str) -> int:
        async with self._set_based():
            return int(await self._conn.fetchval(q.COUNT_HELD_LIVE, connection_id, data_model))

    async def delete_held(
        self, connection_id: str, data_model: str, first_position: int
    ) -> list[Deleted]:
        """Apply held deletions, except for records changed since they were held (they came
        back), and forget the hold."""
        async with self._set_based():
            rows = await self._conn.fetch(q.DELETE_HELD, connection_id, data_model,
                                          first_position)
        await self._conn.execute(q.FORGET_HELD, connection_id, data_model)
        return [Deleted(*r) for r in rows]

    async def count_listed_live(
        self, connection_id: str, data_model: str, record_ids: list[str]
    ) -> int:
        return int(await self._conn.fetchval(q.COUNT_LISTED_LIVE, connection_id, data_model,
                                             record_ids))

    async def hold_listed(
        self, connection_id: str, data_model: str, job_id: str, record_ids: list[str]
    ) -> int:
        return _count(await self._conn.execute(q.HOLD_LISTED, connection_id, data_model,
                                               record_ids, job_id))

    async def delete_listed(
        self, connection_id: str, data_model: str, record_ids: list[str], first_position: int
    ) -> list[Deleted]:
        rows = await self._conn.fetch(q.DELETE_LISTED, connection_id, data_model, record_ids,
                                      first_position)
        return [Deleted(*r) for r in rows]

    # --- reads --------------------------------------------------------------------------------

    async def page_of_changes(
        self, connection_id: str, data_model: str, after: int, limit: int,
        include_deleted: bool, modified_after: datetime | None,
    ) -> list[StoredRecord]:
        rows = await self._conn.fetch(q.PAGE_OF_CHANGES, connection_id, data_model, after,
                                      include_deleted, modified_after, limit)
        return [StoredRecord(**r) for r in rows]

    async def record(
        self, connection_id: str, data_model: str, record_id: str
    ) -> StoredRecord | None:
        row = await self._conn.fetchrow(q.RECORD, connection_id, data_model, record_id)
        return StoredRecord(**row) if row is not None else None

    async def versions(
        self, connection_id: str, data_model: str, record_id: str
    ) -> list[Version]:
        rows = await self._conn.fetch(q.RECORD_VERSIONS, connection_id, data_model, record_id)
        return [Version(**r) for r in rows]

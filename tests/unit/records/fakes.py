"""An in-memory records repository: the rules of the SQL, kept in dicts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from ferry_contracts.sync import SyncCounts
from ferry_records.domain import (
    Deleted,
    KnownConnection,
    ModelState,
    PageCounts,
    StoredRecord,
    Version,
    Written,
)
from ferry_records.repository import NewRecords, Unseen

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Row:
    data: dict[str, Any]
    hash: bytes
    position: int
    provider_updated_at: datetime | None
    action: str = "created"
    version: int = 1
    first_seen_at: datetime = NOW
    modified_at: datetime = NOW
    deleted_at: datetime | None = None


@dataclass
class Job:
    connection_id: str
    data_model: str
    counts: dict[str, int] = field(default_factory=dict)
    first_position: int | None = None
    ended: bool = False


class FakeRepository:
    def __init__(self) -> None:
        self.connections: dict[str, KnownConnection] = {}
        self.rows: dict[tuple[str, str, str], Row] = {}
        self.cursors: dict[str, int] = {}
        self.jobs: dict[str, Job] = {}
        self.seen: dict[str, set[str]] = {}
        self.held: dict[tuple[str, str], dict[str, datetime]] = {}
        self.states: dict[tuple[str, str], ModelState] = {}
        self.history: dict[tuple[str, str, str], list[Version]] = {}
        self.probes = self.guessed = 0  # chunks probed; chunks COPYed unprobed, taken to be new
        self.now = NOW

    # connections and the state of each model

    async def connection(self, connection_id: str) -> KnownConnection | None:
        return self.connections.get(connection_id)

    async def remember_connection(self, connection_id: str, project_id: str | None,
                                  record_events: bool | None) -> None:
        old = self.connections.get(connection_id)
        self.connections[connection_id] = KnownConnection(
            connection_id, project_id or (old.project_id if old else None),
            record_events if record_events is not None else bool(
                old and old.initial_sync_record_events),
            old.deleted if old else False)

    async def purge_connection(self, connection_id: str) -> None:
        self.rows = {k: v for k, v in self.rows.items() if k[0] != connection_id}
        self.jobs = {k: j for k, j in self.jobs.items() if j.connection_id != connection_id}
        self.connections[connection_id] = KnownConnection(connection_id, None, False, True)

    async def set_model_state(self, connection_id: str, data_model: str, status: str,
                              error: str | None, synced_at: datetime | None,
                              held: int | None) -> None:
        old = self.states.get((connection_id, data_model))
        self.states[(connection_id, data_model)] = ModelState(
            data_model, synced_at or (old.last_synced_at if old else None), status, error,
            held if held is not None else (old.held_deletions if old else 0))

    async def model_states(self, connection_id: str) -> list[ModelState]:
        return [s for (cid, _), s in sorted(self.states.items()) if cid == connection_id]

    # ingest

    async def to_write(self, connection_id: str, data_model: str, ids: list[str], hashes: bytes,
                       seen_by: str | None) -> tuple[dict[int, bool], int]:
        self.probes += 1
        todo, same = {}, []
        for i, rid in enumerate(ids):
            row = self.rows.get((connection_id, data_model, rid))
            if row and row.deleted_at is None and row.hash == hashes[i * 16:i * 16 + 16]:
                same.append(rid)
            else:
                todo[i] = row is not None
        if seen_by is not None and same:
            self.seen.setdefault(seen_by, set()).update(same)
            return todo, len(same)
        return todo, 0

    async def insert_new(self, new: NewRecords) -> None:
        connection_id, data_model = new.connection_id, new.data_model
        for rid, data, h, pos, pua in new.rows:
            self.rows[(connection_id, data_model, rid)] = Row(orjson.loads(data), h, pos, pua,
                                                             first_seen_at=self.now,
                                                             modified_at=self.now)

    async def insert_if_new(self, new: NewRecords) -> bool:
        self.guessed += 1
        if any((new.connection_id, new.data_model, rid) in self.rows for rid, *_ in new.rows):
            return False
        await self.insert_new(new)
        return True

    async def upsert(self, connection_id: str, data_model: str, records: list[bytes],
                     hashes: bytes, updated_at: list[datetime | None],
                     positions: list[int]) -> list[Written]:
        written = []
        for i, raw in enumerate(records):
            data, h = orjson.loads(raw), hashes[i * 16:i * 16 + 16]
            key = (connection_id, data_model, data["id"])
            row = self.rows.get(key)
            if row is None:
                self.rows[key] = Row(data, h, positions[i], updated_at[i])
                written.append(Written(data["id"], "created", positions[i], self.now, None))
            elif row.hash != h or row.deleted_at is not None:
                action = "updated" if row.deleted_at is None else "created"
                old = row.data if action == "updated" else None
                self.rows[key] = Row(data, h, positions[i], updated_at[i], action,
                                     row.version + 1, row.first_seen_at, self.now)
                written.append(Written(data["id"], action, positions[i], self.now, old))
        return sorted(written, key=lambda w: w.position)

    async def transaction_time(self) -> datetime:
        return self.now

    async def take_positions(self, connection_id: str, n: int) -> int:
        self.cursors[connection_id] = self.cursors.get(connection_id, 0) + n
        return self.cursors[connection_id] - n + 1

    async def lock_cursor(self, connection_id: str) -> None:
        self.cursors.setdefault(connection_id, 0)

    def _job(self, job_id: str, connection_id: str, data_model: str) -> Job:
        return self.jobs.setdefault(job_id, Job(connection_id, data_model))

    async def add_counts(self, job_id: str, connection_id: str, data_model: str,
                         counts: PageCounts) -> None:
        job = self._job(job_id, connection_id, data_model)
        for name in ("fetched", "created", "updated", "unchanged", "seen"):
            job.counts[name] = job.counts.get(name, 0) + getattr(counts, name)
        if job.first_position is None:
            job.first_position = counts.first_position

    async def add_deleted(self, job_id: str, connection_id: str, data_model: str,
                          deleted: int) -> None:
        job = self._job(job_id, connection_id, data_model)
        job.counts["deleted"] = job.counts.get("deleted", 0) + deleted

    async def add_versions(self, connection_id: str, data_model: str,
                           updates: list[tuple[str, int, dict[str, Any]]]) -> None:
        for rid, position, changes in updates:
            self.history.setdefault((connection_id, data_model, rid), []).append(
                Version(position, changes, self.now))

    # the end of a job

    async def seen_intact(self, job_id: str) -> bool:
        job = self.jobs.get(job_id)
        return (job.counts.get("seen", 0) if job else 0) == len(self.seen.get(job_id, ()))

    async def fetched_so_far(self, job_id: str) -> int:
        job = self.jobs.get(job_id)
        return job.counts.get("fetched", 0) if job else 0

    async def job_counts(self, job_id: str) -> SyncCounts:
        job = self.jobs.get(job_id)
        if job is None:
            return SyncCounts()
        return SyncCounts(**{k: job.counts.get(k, 0) for k in SyncCounts.model_fields})

    async def end_job(self, job_id: str, connection_id: str, data_model: str,
                      deleted: int) -> None:
        self.seen.pop(job_id, None)
        await self.add_deleted(job_id, connection_id, data_model, deleted)
        self.jobs[job_id].ended = True

    # deletions

    def _live(self, connection_id: str, data_model: str) -> dict[str, Row]:
        return {k[2]: r for k, r in self.rows.items()
                if k[:2] == (connection_id, data_model) and r.deleted_at is None}

    def _unseen(self, connection_id: str, data_model: str, unseen: Unseen) -> list[str]:
        job_id, window, started = unseen
        job = self.jobs.get(job_id)
        first = job.first_position if job and job.first_position is not None else 2 ** 63
        return sorted(
            rid for rid, r in self._live(connection_id, data_model).items()
            if r.position < first and rid not in self.seen.get(job_id, set())
            and (window is None or (r.provider_updated_at or window) >= window)
            and (started is None or r.modified_at < started))

    def _delete(self, connection_id: str, data_model: str, ids: list[str],
                first: int) -> list[Deleted]:
        gone = []
        for i, rid in enumerate(sorted(ids)):
            row = self.rows[(connection_id, data_model, rid)]
            row.deleted_at = row.modified_at = self.now
            row.action, row.position, row.version = "deleted", first + i, row.version + 1
            gone.append(Deleted(rid, row.position, self.now))
        return list(reversed(gone))  # as `UPDATE ... RETURNING` may: in no set order

    async def count_live(self, connection_id: str, data_model: str) -> int:
        return len(self._live(connection_id, data_model))

    async def count_unseen(self, connection_id: str, data_model: str, unseen: Unseen) -> int:
        return len(self._unseen(connection_id, data_model, unseen))

    async def hold_unseen(self, connection_id: str, data_model: str, unseen: Unseen) -> int:
        ids = self._unseen(connection_id, data_model, unseen)
        self.held[(connection_id, data_model)] = dict.fromkeys(ids, self.now)
        return len(ids)

    async def delete_unseen(self, connection_id: str, data_model: str, unseen: Unseen,
                            first_position: int) -> list[Deleted]:
        ids = self._unseen(connection_id, data_model, unseen)
        return self._delete(connection_id, data_model, ids, first_position)

    def _held_live(self, connection_id: str, data_model: str) -> list[str]:
        live = self._live(connection_id, data_model)
        return [rid for rid, at in self.held.get((connection_id, data_model), {}).items()
                if rid in live and live[rid].modified_at <= at]

    async def count_held_live(self, connection_id: str, data_model: str) -> int:
        return len(self._held_live(connection_id, data_model))

    async def delete_held(self, connection_id: str, data_model: str,
                          first_position: int) -> list[Deleted]:
        ids = self._held_live(connection_id, data_model)
        self.held.pop((connection_id, data_model), None)
        return self._delete(connection_id, data_model, ids, first_position)

    async def count_listed_live(self, connection_id: str, data_model: str,
                                record_ids: list[str]) -> int:
        return len(set(record_ids) & set(self._live(connection_id, data_model)))

    async def hold_listed(self, connection_id: str, data_model: str, job_id: str,
                          record_ids: list[str]) -> int:
        ids = set(record_ids) & set(self._live(connection_id, data_model))
        held = self.held.setdefault((connection_id, data_model), {})
        fresh = ids - set(held)
        held.update(dict.fromkeys(fresh, self.now))
        return len(fresh)

    async def delete_listed(self, connection_id: str, data_model: str, record_ids: list[str],
                            first_position: int) -> list[Deleted]:
        ids = sorted(set(record_ids) & set(self._live(connection_id, data_model)))
        return self._delete(connection_id, data_model, ids, first_position)

    # reads

    def _stored(self, rid: str, r: Row) -> StoredRecord:
        return StoredRecord(rid, r.data, r.action, r.position, r.first_seen_at, r.modified_at,
                            r.deleted_at, r.version)

    async def page_of_changes(self, connection_id: str, data_model: str, after: int, limit: int,
                              include_deleted: bool,
                              modified_after: datetime | None) -> list[StoredRecord]:
        rows = sorted(((k[2], r) for k, r in self.rows.items()
                       if k[:2] == (connection_id, data_model) and r.position > after
                       and (include_deleted or r.deleted_at is None)
                       and (modified_after is None or r.modified_at > modified_after)),
                      key=lambda kr: kr[1].position)
        return [self._stored(rid, r) for rid, r in rows[:limit]]

    async def record(self, connection_id: str, data_model: str,
                     record_id: str) -> StoredRecord | None:
        row = self.rows.get((connection_id, data_model, record_id))
        return self._stored(record_id, row) if row else None

    async def versions(self, connection_id: str, data_model: str,
                       record_id: str) -> list[Version]:
        return list(self.history.get((connection_id, data_model, record_id), []))

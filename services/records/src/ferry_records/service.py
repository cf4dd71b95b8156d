"""Use cases of the records service: ingest pages, detect changes, end jobs, apply held deletions.

Each page is one transaction: its inbox claim, the record writes, the job's counts and the
`record.changed` events commit together, so a redelivered page changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
from ferry_contracts import Envelope
from ferry_contracts.connections import ConnectionChanged
from ferry_contracts.records import FieldChange, RecordChanged, RecordsEnd, RecordsPage
from ferry_contracts.sync import SyncCompleted, SyncCounts
from ferry_contracts.topics import CONNECTION_CHANGED, RECORDS_FETCHED
from ferry_kit import inbox, outbox
from ferry_kit import logging as klog

from . import domain
from . import repository as repo
from .settings import Settings

log = klog.get("ferry.records")


# Records per chunk of the ingest pipeline, and per slice of hashing between two looks at Postgres.
_CHUNK = 2500
_SLICE = 250


@dataclass
class _Written:
    """What a batch's chunks wrote: indexes of new records, rows of changed ones, ids noted as seen."""

    new: list[int] = field(default_factory=list)
    changed: list[Any] = field(default_factory=list)
    seen: int = 0


class Records:
    def __init__(self, settings: Settings, pool: asyncpg.Pool) -> None:
        self.settings = settings
        self.pool = pool

    # --- records.fetched ------------------------------------------------------------------

    async def on_records_fetched(self, events: list[Envelope[Any]]) -> None:
        """Consecutive pages of one job are ingested together (one transaction); an end marker on
        its own. Memory stays bounded by the consumer's batch, never by a sync's size."""
        group: list[Envelope[Any]] = []
        for event in events:
            item = event.data.item
            if group and not (isinstance(item, RecordsPage) and item.job_id == group[0].data.item.job_id
                              and event.connection_id == group[0].connection_id
                              and item.data_model == group[0].data.item.data_model):
                await self._apply(group)
                group = []
            group.append(event)
            if isinstance(item, RecordsEnd):
                await self._apply(group)
                group = []
        if group:
            await self._apply(group)

    async def _apply(self, group: list[Envelope[Any]]) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            fresh = await inbox.claim(conn, RECORDS_FETCHED, group)
            if not fresh:
                return
            head = fresh[0]
            cid = head.connection_id
            known = await repo.connection(conn, cid)
            if known is not None and known["deleted"]:
                return  # in flight when its connection was deleted
            if known is None or known["project_id"] is None:
                await repo.remember_connection(conn, cid, head.project_id)
                known = await repo.connection(conn, cid)
            if isinstance(head.data.item, RecordsEnd):
                out = await self._end(conn, head, head.data.item)
            else:
                out = await self._ingest(conn, head, [e.data.item for e in fresh], known)
            await outbox.add(conn, out)

    async def _ingest(self, conn: asyncpg.Connection, event: Envelope[Any], pages: list[RecordsPage],
                      known: asyncpg.Record) -> list[Envelope[Any]]:
        page = pages[0]
        cid, model = event.connection_id, page.data_model.upper()
        latest: dict[str, dict[str, Any]] = {}
        fetched = 0
        for p in pages:
            fetched += len(p.records)
            for i, record in enumerate(p.records):
                rid = p.ids[i] if p.ids is not None and i < len(p.ids) else record.get("id")
                if rid is not None:
                    latest[str(rid).replace("\x00", "")] = record  # a record twice: its last version wins
        listed = await self._delete_listed(conn, event, pages, latest)
        if not latest:  # no record with an id: nothing to store, but the records were fetched
            await repo.add_counts(conn, page.job_id, cid, model, fetched=fetched, created=0, updated=0, unchanged=0,
                                  seen=0, first_position=None)
            return listed
        # The id becomes a string so `->>'id'` and the API agree whatever type the provider uses.
        values = [data if data.get("id") == rid else {**data, "id": rid} for rid, data in latest.items()]
        latest = {v["id"]: v for v in values}
        ids = list(latest)
        # Positions are reserved first: that takes the connection's cursor lock, which orders
        # this page against other writers of the connection (held deletions, purges).
        first = await repo.take_positions(conn, cid, len(values))
        done = _Written()
        await self._write_pipelined(conn, cid, model, values, first, page.job_id if page.full_sync else None, done)
        created = len(done.new) + sum(1 for c in done.changed if c["action"] == "created")
        written = len(done.new) + len(done.changed)
        await repo.add_counts(conn, page.job_id, cid, model, fetched=fetched, created=created,
                              updated=written - created, unchanged=len(latest) - written,
                              seen=done.seen, first_position=first)
        await repo.add_versions(conn, cid, model, [
            (c["record_id"], c["position"], domain.changed_fields(c["old_data"], latest[c["record_id"]]))
            for c in done.changed if c["action"] == "updated"])
        if not written or (page.is_initial_sync and not known["initial_sync_record_events"]):
            return listed  # an initial sync reports its counts in sync_completed instead
        changed = done.changed
        if done.new:
            now = await repo.transaction_time(conn)
            changed = sorted([*changed, *({"record_id": ids[i], "action": "created", "position": first + i,
                                           "modified_at": now, "old_data": None} for i in done.new)],
                             key=lambda c: c["position"])
        return listed + [Envelope.of(RecordChanged(
            data_model=model, record_id=c["record_id"], action=c["action"], cursor=domain.encode_cursor(c["position"]),
            job_id=page.job_id, is_initial_sync=page.is_initial_sync, modified_at=c["modified_at"],
            data=latest[c["record_id"]],
            changed_fields={k: FieldChange(**v) for k, v in domain.changed_fields(c["old_data"], latest[c["record_id"]]).items()}
            if c["action"] == "updated" else {},
        ), project_id=event.project_id, connection_id=cid) for c in changed]

    async def _delete_listed(self, conn: asyncpg.Connection, event: Envelope[Any], pages: list[RecordsPage],
                             latest: dict[str, dict[str, Any]]) -> list[Envelope[Any]]:
        """Records the provider listed as deleted (tombstones, a "deleted since" endpoint), through
        the mass-delete guard: too many of the live ones at once are held, not deleted."""
        ids = sorted({str(i) for p in pages for i in p.deleted_ids} - set(latest))
        if not ids:
            return []
        cid, model, job_id = event.connection_id, pages[0].data_model.upper(), pages[0].job_id
        await repo.lock_cursor(conn, cid)
        n = await repo.count_listed_live(conn, cid, model, ids)
        if not n:
            return []
        live, s = await repo.count_live(conn, cid, model), self.settings
        if domain.should_hold(n, live, s.records_mass_delete_threshold, s.records_mass_delete_min):
            held = await repo.hold_listed(conn, cid, model, job_id, ids)
            log.warning("mass deletion held", connection_id=cid, data_model=model, held=held, live=live)
            return []
        first = await repo.take_positions(conn, cid, n)
        gone = await repo.delete_listed(conn, cid, model, ids, first)
        await repo.add_deleted(conn, job_id, cid, model, len(gone))
        return self._deletions(event.project_id, cid, model, job_id, gone)

    async def _write_pipelined(self, conn: asyncpg.Connection, cid: str, model: str, values: list[dict[str, Any]],
                               first: int, seen_by: str | None, done: _Written) -> None:
        """Write records chunk by chunk, hashing the next chunk while Postgres runs the statements
        of the previous one: the service and Postgres each have a core, instead of taking turns.
        One connection, one statement at a time; the hashing yields between slices so the writer
        can send its next statement as soon as the last one is answered."""
        writer: asyncio.Task[None] | None = None
        try:
            for lo in range(0, len(values), _CHUNK):
                hashed: list[tuple[bytes, bytes]] = []
                for s in range(lo, min(lo + _CHUNK, len(values)), _SLICE):
                    hashed += [domain.content_hash(v) for v in values[s:s + _SLICE]]
                    if writer is not None:
                        await asyncio.sleep(0)
                if writer is not None:
                    await writer
                writer = asyncio.create_task(self._write_chunk(conn, cid, model, values, lo, hashed, first, seen_by, done))
                await asyncio.sleep(0)  # let it send its first statement
            if writer is not None:
                await writer
        finally:
            if writer is not None and not writer.done():
                writer.cancel()
                with contextlib.suppress(BaseException):
                    await writer

    async def _write_chunk(self, conn: asyncpg.Connection, cid: str, model: str, values: list[dict[str, Any]], lo: int,
                           hashed: list[tuple[bytes, bytes]], first: int, seen_by: str | None, done: _Written) -> None:
        """Records values[lo:lo + len(hashed)]: new ones COPYed in, stored ones upserted when their
        hash differs (or they were deleted), unchanged ones only noted as seen."""
        chunk = values[lo:lo + len(hashed)]
        todo, seen = await repo.to_write(conn, cid, model, orjson.dumps([v["id"] for v in chunk]).decode(),
                                         b"".join(h for _, h in hashed), seen_by)
        done.seen += seen
        new = [i for i, has_row in todo.items() if not has_row]
        if new:  # no row yet: COPY, no conflict to check
            await repo.insert_new(conn, cid, model, [
                (chunk[i]["id"], orjson.Fragment(hashed[i][0]), hashed[i][1], first + lo + i,
                 domain.provider_time(chunk[i].get("updated_at"))) for i in new])
            done.new += [lo + i for i in new]
        old = [i for i, has_row in todo.items() if has_row]
        if old:
            done.changed += await repo.upsert_page(
                conn, cid, model, "[" + ",".join(hashed[i][0].decode() for i in old) + "]",
                b"".join(hashed[i][1] for i in old), [domain.provider_time(chunk[i].get("updated_at")) for i in old],
                orjson.dumps([first + lo + i for i in old]).decode())

    async def _end(self, conn: asyncpg.Connection, event: Envelope[Any], end: RecordsEnd) -> list[Envelope[Any]]:
        cid, model = event.connection_id, end.data_model.upper()
        out: list[Envelope[Any]] = []
        deleted = held = 0
        status, error = await self._lost_pages(conn, cid, model, end)
        if status == "complete" and end.full_sync:
            deleted, held = await self._delete_unseen(conn, event, end, out)
        await repo.end_job(conn, end.job_id, cid, model, deleted)
        counts_row = await repo.job_counts(conn, end.job_id)
        counts = SyncCounts(**{k: int(counts_row[k]) for k in SyncCounts.model_fields}) if counts_row else SyncCounts()
        synced_at = datetime.now(UTC) if status == "complete" else None
        await repo.set_model_state(
            conn, cid, model, status=status, error=error, synced_at=synced_at,
            held=held if status == "complete" and end.full_sync else None,
        )
        out.append(Envelope.of(SyncCompleted(
            job_id=end.job_id, batch_id=end.batch_id, connection_id=cid, provider_name=end.provider_name,
            data_model=model, status=status, full_sync=end.full_sync,
            is_initial_sync=end.is_initial_sync,
            counts=counts, held_deletions=held, error=error, last_synced_at=synced_at,
            high_water_mark=end.high_water_mark,
        ), project_id=event.project_id, connection_id=cid))
        return out

    async def _delete_unseen(self, conn: asyncpg.Connection, event: Envelope[Any], end: RecordsEnd,
                             out: list[Envelope[Any]]) -> tuple[int, int]:
        """After a complete full sync: delete (or hold, past the guard) what it did not see.
        Returns (deleted, held); the deletion events go to `out`."""
        cid, model = event.connection_id, end.data_model.upper()
        if not await repo.seen_intact(conn, end.job_id):
            log.error("seen ids were lost (Postgres restarted?); deletions skipped for this sync",
                      connection_id=cid, data_model=model, job_id=end.job_id)
            return 0, 0
        since = end.sync_from
        window = datetime.combine(since, datetime.min.time(), UTC) if since else None
        await repo.lock_cursor(conn, cid)
        unseen = await repo.count_unseen(conn, cid, model, end.job_id, window, end.started_at)
        if not unseen:
            return 0, 0
        live, s = await repo.count_live(conn, cid, model), self.settings
        threshold, minimum = s.records_mass_delete_threshold, s.records_mass_delete_min
        if domain.should_hold(unseen, live, threshold, minimum):
            held = await repo.hold_unseen(conn, cid, model, end.job_id, window, end.started_at)
            log.warning("mass deletion held", connection_id=cid, data_model=model, held=held,
                        live=live)
            return 0, held
        first = await repo.take_positions(conn, cid, unseen)
        gone = await repo.delete_unseen(conn, cid, model, end.job_id, window, end.started_at, first)
        out += self._deletions(event.project_id, cid, model, end.job_id, gone)
        return len(gone), 0

    async def _lost_pages(self, conn: asyncpg.Connection, cid: str, model: str,
                          end: RecordsEnd) -> tuple[str, str | None]:
        """The job's outcome as stored here. A page that did not make it (sent to the dead-letter
        topic) fails a sync the executor calls complete: its records were not seen (no deletion
        may be inferred) and an incremental sync must not move its high-water mark past them."""
        ingested = await repo.fetched_so_far(conn, end.job_id)
        if end.status != "complete" or ingested >= end.fetched:
            return end.status, end.error
        log.error("pages of a sync were not stored; the sync fails", connection_id=cid,
                  data_model=model, job_id=end.job_id, fetched=end.fetched, stored=ingested,
                  full_sync=end.full_sync)
        return "failed", (f"{end.fetched - ingested} of the {end.fetched} records fetched could "
                          "not be stored (see the records.fetched dead-letter topic); "
                          "nothing was deleted")

    def _deletions(self, project_id: str | None, cid: str, model: str, job_id: str | None,
                   gone: list[asyncpg.Record]) -> list[Envelope[Any]]:
        return [Envelope.of(RecordChanged(
            data_model=model, record_id=r["record_id"], action="deleted", cursor=domain.encode_cursor(r["position"]),
            job_id=job_id, modified_at=r["modified_at"], data=None,
        ), project_id=project_id, connection_id=cid) for r in sorted(gone, key=lambda r: r["position"])]

    # --- connection.changed ---------------------------------------------------------------

    async def on_connection_changed(self, events: list[Envelope[Any]]) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            for event in await inbox.claim(conn, CONNECTION_CHANGED, events):
                change: ConnectionChanged = event.data
                if change.status == "DELETED":
                    await repo.purge_connection(conn, change.connection_id)
                else:
                    await repo.remember_connection(conn, change.connection_id, event.project_id,
                                                   change.initial_sync_record_events)

    # --- held deletions -------------------------------------------------------------------

    async def confirm_deletions(self, connection_id: str, data_model: str) -> int:
        model = data_model.upper()
        async with self.pool.acquire() as conn, conn.transaction():
            await repo.lock_cursor(conn, connection_id)
            n = await repo.count_held_live(conn, connection_id, model)
            gone = []
            if n:
                first = await repo.take_positions(conn, connection_id, n)
                gone = await repo.delete_held(conn, connection_id, model, first)
            else:
                await repo.delete_held(conn, connection_id, model, 0)
            known = await repo.connection(conn, connection_id)
            await outbox.add(conn, self._deletions(known["project_id"] if known else None, connection_id, model, None, gone))
            await repo.set_model_state(conn, connection_id, model, status="complete", error=None, synced_at=None, held=0)
            return len(gone)

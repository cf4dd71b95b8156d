"""What the records service does, one typed function per event or command, listed in `HANDLERS`.

Each runs inside a unit of work the kit opened (inbox claimed, outbox written on commit). Pages
of `records.fetched` are taken a group at a time (`domain.ingest_groups`: consecutive pages of
one job, or an end marker), one transaction per group, so a redelivered page changes nothing and
memory stays bounded by the consumer's batch, never by a sync's size.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, NoReturn

from ferry_contracts import Envelope
from ferry_contracts.connections import ConnectionChanged
from ferry_contracts.records import RecordsEnd, RecordsFetched, RecordsPage
from ferry_contracts.topics import CONNECTION_CHANGED, RECORDS_FETCHED, Encoded
from ferry_kit import logging as klog
from ferry_kit.clock import Clock
from ferry_kit.dispatch import Batch, EventHandler
from ferry_kit.uow import UnitOfWork

from . import domain
from .domain import ConfirmDeletions, Deleted, KnownConnection, PageCounts, Written
from .repository import NewRecords, Repository
from .settings import Settings

Uow = UnitOfWork[Repository]
log = klog.get("ferry.records")

# Records per chunk of the ingest pipeline (a group of a few pages makes several, so the
# events of one are built while the next is written), and per slice of CPU work between two
# looks at Postgres.
CHUNK = 1000
SLICE = 250


async def on_records_fetched(
    events: list[Envelope[RecordsFetched]], uow: Uow, clock: Clock, settings: Settings
) -> None:
    """One group of fresh events: consecutive pages of one job, or its end marker."""
    head = events[0]
    known = await _known(uow, head)
    if known is None:
        return  # in flight when its connection was deleted
    item = head.data.item
    if isinstance(item, RecordsEnd):
        await _end(uow, head, item, clock, settings)
    else:
        pages = [e.data.item for e in events if isinstance(e.data.item, RecordsPage)]
        await _ingest(uow, head, pages, known, settings)


async def on_connection_changed(event: Envelope[ConnectionChanged], uow: Uow) -> None:
    change = event.data
    if change.status == "DELETED":
        await uow.repos.purge_connection(change.connection_id)
    else:
        await uow.repos.remember_connection(change.connection_id, event.project_id,
                                            change.initial_sync_record_events)


async def confirm_deletions(command: ConfirmDeletions, uow: Uow) -> int:
    """Apply a model's held deletions (but for records changed since); returns how many."""
    cid, model = command.connection_id, command.data_model.upper()
    await uow.repos.lock_cursor(cid)
    n = await uow.repos.count_held_live(cid, model)
    first = await uow.repos.take_positions(cid, n) if n else 0
    gone = await uow.repos.delete_held(cid, model, first)
    known = await uow.repos.connection(cid)
    _emit_deletions(uow, known.project_id if known else None, cid, model, None, gone)
    await uow.repos.set_model_state(cid, model, "complete", None, None, 0)
    return len(gone)


HANDLERS: Final[dict[str, EventHandler | Batch]] = {
    RECORDS_FETCHED: Batch(on_records_fetched, split=domain.ingest_groups),
    CONNECTION_CHANGED: on_connection_changed,
}


# --- pages --------------------------------------------------------------------------------


async def _known(uow: Uow, head: Envelope[Any]) -> KnownConnection | None:
    """The event's connection, remembered now if new; None once it is deleted."""
    cid = _connection_id(head)
    known = await uow.repos.connection(cid)
    if known is not None and known.deleted:
        return None
    if known is None or known.project_id is None:
        await uow.repos.remember_connection(cid, head.project_id, None)
        known = await uow.repos.connection(cid)
    return known


def _connection_id(event: Envelope[Any]) -> str:
    if event.connection_id is None:
        raise ValueError(f"{event.type} {event.id} names no connection")
    return event.connection_id


@dataclass
class _Written:
    """What a group's chunks wrote, taken chunk by chunk in cursor order: the counts, the
    versions of updated records (not yet stored, for the writer to store between two of its
    statements) and, unless the group is quiet, their events."""

    model: str
    page: RecordsPage
    latest: dict[str, dict[str, Any]]
    first: int
    now: datetime | None  # the transaction's time (new records' modified_at); None: quiet
    project_id: str | None
    connection_id: str
    created: int = 0
    written: int = 0
    seen: int = 0
    versions: list[tuple[str, int, dict[str, Any]]] = field(default_factory=list)
    events: list[Encoded] = field(default_factory=list)

    async def take(self, chunk: _ChunkWritten) -> None:
        """One chunk's diffs and events: built while Postgres runs the next chunk's statements,
        so yielding every slice lets the writer send its next statement."""
        self.seen += chunk.seen
        self.written += len(chunk.new) + len(chunk.changed)
        self.created += len(chunk.new) + sum(1 for c in chunk.changed if c.action == "created")
        diffs: dict[str, dict[str, Any]] = {}
        for c in chunk.changed:
            if c.action == "updated":
                diffs[c.record_id] = domain.changed_fields(c.old_data, self.latest[c.record_id])
                self.versions.append((c.record_id, c.position, diffs[c.record_id]))
        if self.now is None:
            return  # an initial sync reports its counts in sync_completed instead
        now = self.now
        rows = sorted([*chunk.changed, *(Written(rid, "created", pos, now, None)
                                         for rid, pos in chunk.new)], key=lambda c: c.position)
        for n, c in enumerate(rows, 1):
            self.events.append(domain.change_event(
                self.model, self.page, c, self.latest[c.record_id], diffs.get(c.record_id, {}),
                project_id=self.project_id, connection_id=self.connection_id))
            if n % SLICE == 0:
                await asyncio.sleep(0)


@dataclass(frozen=True, slots=True)
class _ChunkWritten:
    """What one chunk wrote: (id, position) of new records, changed rows, ids noted as seen."""

    new: list[tuple[str, int]]
    changed: list[Written]
    seen: int


async def _ingest(
    uow: Uow, head: Envelope[Any], pages: list[RecordsPage], known: KnownConnection,
    settings: Settings,
) -> None:
    page, cid = pages[0], _connection_id(head)
    model = page.data_model.upper()
    latest, fetched = domain.latest_records(pages)
    await _delete_listed(uow, head, pages, domain.listed_deletions(pages, latest), settings)
    if not latest:  # no record with an id: nothing to store, but the records were fetched
        await uow.repos.add_counts(page.job_id, cid, model, PageCounts(fetched=fetched))
        return
    values = list(latest.values())
    # Positions are reserved first: that takes the connection's cursor lock, which orders
    # this page against other writers of the connection (held deletions, purges).
    first = await uow.repos.take_positions(cid, len(values))
    now = None if domain.quiet(page, known) else await uow.repos.transaction_time()
    done = _Written(model, page, latest, first, now, head.project_id, cid)
    await _write_pipelined(uow.repos, cid, model, values, first,
                           page.job_id if page.full_sync else None, domain.probes(page), done)
    await uow.repos.add_counts(page.job_id, cid, model, PageCounts(
        fetched=fetched, created=done.created, updated=done.written - done.created,
        unchanged=len(latest) - done.written, seen=done.seen, first_position=first))
    await uow.repos.add_versions(cid, model, done.versions)  # those the writer did not store
    for event in done.events:
        uow.emit(event)


async def _delete_listed(
    uow: Uow, head: Envelope[Any], pages: list[RecordsPage], ids: list[str], settings: Settings
) -> None:
    """Records the provider listed as deleted (tombstones, a "deleted since" endpoint), through
    the mass-delete guard: too many of the live ones at once are held, not deleted."""
    if not ids:
        return
    cid, model, job_id = _connection_id(head), pages[0].data_model.upper(), pages[0].job_id
    await uow.repos.lock_cursor(cid)
    n = await uow.repos.count_listed_live(cid, model, ids)
    if not n:
        return
    live = await uow.repos.count_live(cid, model)
    if _should_hold(n, live, settings):
        held = await uow.repos.hold_listed(cid, model, job_id, ids)
        log.warning("mass deletion held", connection_id=cid, data_model=model, held=held,
                    live=live)
        return
    first = await uow.repos.take_positions(cid, n)
    gone = await uow.repos.delete_listed(cid, model, ids, first)
    await uow.repos.add_deleted(job_id, cid, model, len(gone))
    _emit_deletions(uow, head.project_id, cid, model, job_id, gone)


async def _write_pipelined(
    repos: Repository, cid: str, model: str, values: list[dict[str, Any]], first: int,
    seen_by: str | None, probe: bool, done: _Written,
) -> None:
    """Write records chunk by chunk so that Postgres and the service each keep a core busy
    instead of taking turns: this task hashes the chunks and builds the diffs and events of
    those written; a writer task runs the statements, one at a time on the one connection, and
    encodes a chunk's rows while Postgres probes the next chunk. The CPU work yields between
    slices so the writer can send its next statement as soon as the last one is answered."""
    # A chunk or two ahead of the writer: enough to keep it busy, and no more held in memory.
    hashed: asyncio.Queue[_Chunk | None] = asyncio.Queue(maxsize=2)
    written: asyncio.Queue[_ChunkWritten | None] = asyncio.Queue()
    writer = asyncio.create_task(_writer(repos, hashed, written, done))
    try:
        for lo in range(0, len(values), CHUNK):
            chunk: list[tuple[bytes, bytes]] = []
            for s in range(lo, min(lo + CHUNK, len(values)), SLICE):
                chunk += [domain.content_hash(v) for v in values[s:s + SLICE]]
                await asyncio.sleep(0)
                while not written.empty():
                    if (w := written.get_nowait()) is None:  # only a failed writer ends early
                        await _failed(writer)
                    await done.take(w)
            await _hand(hashed, _Chunk(cid, model, values[lo:lo + len(chunk)], chunk, first + lo,
                                       seen_by, probe), writer)
        await _hand(hashed, None, writer)
        while (w := await written.get()) is not None:
            await done.take(w)
        await writer  # its failure, if it failed
    finally:
        if not writer.done():
            writer.cancel()
            with contextlib.suppress(BaseException):
                await writer


async def _hand(chunks: asyncio.Queue[_Chunk | None], chunk: _Chunk | None,
                writer: asyncio.Task[None]) -> None:
    """Give the writer a chunk, waiting while it has enough; raises if the writer failed."""
    put = asyncio.ensure_future(chunks.put(chunk))
    await asyncio.wait({put, writer}, return_when=asyncio.FIRST_COMPLETED)
    if not put.done():
        put.cancel()
        await _failed(writer)


async def _failed(writer: asyncio.Task[None]) -> NoReturn:
    await writer  # raises what made it end early
    raise RuntimeError("the records writer ended early")


@dataclass(frozen=True, slots=True)
class _Chunk:
    """Records of a group to write together, their (canonical JSON, hash) and first position;
    `probe`: whether to ask first which need a write (`domain.probes`)."""

    cid: str
    model: str
    records: list[dict[str, Any]]
    hashed: list[tuple[bytes, bytes]]
    first: int
    seen_by: str | None
    probe: bool


async def _writer(
    repos: Repository, chunks: asyncio.Queue[_Chunk | None],
    written: asyncio.Queue[_ChunkWritten | None], done: _Written,
) -> None:
    """Each chunk probed, then written, in order; the next chunk's probe goes first. (The chunks
    of a group hold distinct ids and the cursor lock keeps other writers out, so probing one
    before writing another changes no answer.) A chunk after one that was all new (a first
    sync) is taken to be new too and COPYed unprobed: if one of its records has a row after
    all, that COPY alone is undone, the chunk is probed and written as usual, and the rest of
    the group is probed. After each write, the versions of the chunks taken since are stored,
    while the service builds the next events. Ends the `written` queue with None, also when it
    fails."""
    try:
        guessing = True
        chunk = await chunks.get()
        probed = await _probe(repos, chunk) if chunk is not None else None
        while chunk is not None:
            if probed is None and not guessing:
                probed = await _probe(repos, chunk)
            following = await chunks.get()
            guess = (guessing and following is not None and following.probe
                     and (probed is None or _all_new(chunk, probed)))
            probing = (asyncio.create_task(_probe(repos, following))
                       if following is not None and not guess else None)
            await asyncio.sleep(0)  # let it send its statement
            next_probed = None
            try:
                rows = _rows(chunk, *(probed or _as_new(chunk)))
            finally:
                if probing is not None:
                    next_probed = await probing
            done_chunk = await _write_chunk(repos, chunk, rows, guessed=probed is None)
            if done_chunk is None:  # taken to be new, but a record of it has a row
                guessing = False
                rows = _rows(chunk, *await _probe(repos, chunk))
                done_chunk = await _write_chunk(repos, chunk, rows, guessed=False)
                assert done_chunk is not None
            written.put_nowait(done_chunk)
            if done.versions:
                versions, done.versions = done.versions, []
                await repos.add_versions(chunk.cid, chunk.model, versions)
            chunk, probed = following, next_probed
    finally:
        written.put_nowait(None)


Probed = tuple[dict[int, bool], int]


def _all_new(c: _Chunk, probed: Probed) -> bool:
    """Whether the probe found no row for any record of the chunk."""
    todo, seen = probed
    return seen == 0 and len(todo) == len(c.records) and not any(todo.values())


def _as_new(c: _Chunk) -> Probed:
    """What a probe would answer for a chunk of records that have no row."""
    return dict.fromkeys(range(len(c.records)), False), 0


async def _probe(repos: Repository, c: _Chunk) -> Probed:
    """{index: whether a row is stored} of the records to write, and how many unchanged ones
    were noted as seen. Unprobed, every record goes to the upsert, whose hash filter leaves the
    unchanged ones alone."""
    if not c.probe:
        return dict.fromkeys(range(len(c.records)), True), 0
    return await repos.to_write(c.cid, c.model, [v["id"] for v in c.records],
                                b"".join(h for _, h in c.hashed), c.seen_by)


@dataclass(frozen=True, slots=True)
class _Rows:
    """A probed chunk's writes: its new records, COPY-ready, and the indexes of stored ones to
    upsert; `seen`: unchanged ones noted as seen."""

    new: NewRecords | None
    new_ids: list[tuple[str, int]]
    old: list[int]
    seen: int


def _rows(c: _Chunk, todo: dict[int, bool], seen: int) -> _Rows:
    new = [i for i, has_row in todo.items() if not has_row]
    rows = NewRecords.of(c.cid, c.model, [
        (c.records[i]["id"], c.hashed[i][0], c.hashed[i][1], c.first + i,
         domain.provider_time(c.records[i].get("updated_at"))) for i in new]) if new else None
    return _Rows(rows, [(c.records[i]["id"], c.first + i) for i in new],
                 [i for i, has_row in todo.items() if has_row], seen)


async def _write_chunk(
    repos: Repository, c: _Chunk, rows: _Rows, guessed: bool
) -> _ChunkWritten | None:
    """New records COPYed in, stored ones upserted when their hash differs (or they were
    deleted), unchanged ones only noted as seen (by the probe). `guessed`: the chunk was taken
    to be all new, unprobed; None (nothing written) when one of its records has a row."""
    if rows.new is not None and guessed:
        if not await repos.insert_if_new(rows.new):
            return None
    elif rows.new is not None:  # no row yet: COPY, no conflict to check
        await repos.insert_new(rows.new)
    changed: list[Written] = []
    if old := rows.old:
        changed = await repos.upsert(
            c.cid, c.model, [c.hashed[i][0] for i in old], b"".join(c.hashed[i][1] for i in old),
            [domain.provider_time(c.records[i].get("updated_at")) for i in old],
            [c.first + i for i in old])
    return _ChunkWritten(rows.new_ids, changed, rows.seen)


# --- the end of a job ---------------------------------------------------------------------


async def _end(
    uow: Uow, head: Envelope[Any], end: RecordsEnd, clock: Clock, settings: Settings
) -> None:
    cid, model = _connection_id(head), end.data_model.upper()
    stored = await uow.repos.fetched_so_far(end.job_id)
    status, error = domain.job_outcome(end, stored)
    if status != end.status:
        log.error("pages of a sync were not stored; the sync fails", connection_id=cid,
                  data_model=model, job_id=end.job_id, fetched=end.fetched, stored=stored,
                  full_sync=end.full_sync)
    deleted = held = 0
    full = status == "complete" and end.full_sync
    if full:
        deleted, held = await _delete_unseen(uow, head, end, settings)
    await uow.repos.end_job(end.job_id, cid, model, deleted)
    counts = await uow.repos.job_counts(end.job_id)
    synced_at = clock.now() if status == "complete" else None
    await uow.repos.set_model_state(cid, model, status, error, synced_at,
                                    held if full else None)
    uow.emit(domain.sync_completed(end, cid, model, status, error, counts, held, synced_at),
             project_id=head.project_id, connection_id=cid)


async def _delete_unseen(
    uow: Uow, head: Envelope[Any], end: RecordsEnd, settings: Settings
) -> tuple[int, int]:
    """After a complete full sync: delete (or hold, past the guard) what it did not see.
    Returns (deleted, held)."""
    cid, model = _connection_id(head), end.data_model.upper()
    if not await uow.repos.seen_intact(end.job_id):
        log.error("seen ids were lost (Postgres restarted?); deletions skipped for this sync",
                  connection_id=cid, data_model=model, job_id=end.job_id)
        return 0, 0
    unseen = (end.job_id, domain.window_start(end.sync_from), end.started_at)
    await uow.repos.lock_cursor(cid)
    n = await uow.repos.count_unseen(cid, model, unseen)
    if not n:
        return 0, 0
    live = await uow.repos.count_live(cid, model)
    if _should_hold(n, live, settings):
        held = await uow.repos.hold_unseen(cid, model, unseen)
        log.warning("mass deletion held", connection_id=cid, data_model=model, held=held,
                    live=live)
        return 0, held
    first = await uow.repos.take_positions(cid, n)
    gone = await uow.repos.delete_unseen(cid, model, unseen, first)
    _emit_deletions(uow, head.project_id, cid, model, end.job_id, gone)
    return len(gone), 0


def _should_hold(deletions: int, live: int, settings: Settings) -> bool:
    return domain.should_hold(deletions, live, settings.records_mass_delete_threshold,
                              settings.records_mass_delete_min)


def _emit_deletions(
    uow: Uow, project_id: str | None, cid: str, model: str, job_id: str | None,
    gone: list[Deleted],
) -> None:
    for event in domain.deletion_events(model, job_id, gone):
        uow.emit(event, project_id=project_id, connection_id=cid)

"""Outbox: events are rows written with the state change; a relay publishes them in order."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.errors import MessageSizeTooLargeError
from ferry_contracts import Envelope
from ferry_contracts.topics import Encoded, dlq, dump

from . import db
from . import logging as klog
from .gate import GATE
from .telemetry import current_trace_headers

log = klog.get("ferry.outbox")

_COPY_THRESHOLD = 64

# Apache Kafka's default `message.max.bytes` (1 MiB + 12): a larger message is refused by the
# broker, whatever the producer allows, so such a row could never be published.
MAX_MESSAGE_BYTES = 1_048_588


# Consecutive events of one topic and key (a page's change feed) share one row, a bundle, up
# to BUNDLE_MAX events or about BUNDLE_BYTES: one row to write, read and delete instead of one
# per event, while each event is still its own message. The limits bound what one relay pass
# holds (it takes a row whole).
BUNDLE_MAX = 1000
BUNDLE_BYTES = 4 * 1024 * 1024

_COLUMNS = ["event_id", "topic", "key", "payload", "payloads", "events", "headers"]
OutboxRow = tuple[Any, str, str | None, bytes | None, list[bytes] | None, int, dict[str, str]]


async def add(conn: asyncpg.Connection, events: Sequence[Envelope[Any] | Encoded]) -> None:
    """Write events to this schema's outbox. Call inside the state change's transaction."""
    if not events:
        return
    rows = rows_of(events, current_trace_headers())
    if len(rows) >= _COPY_THRESHOLD:
        await conn.copy_records_to_table("outbox", records=rows, columns=_COLUMNS)
    else:
        await conn.executemany(
            "INSERT INTO outbox (event_id, topic, key, payload, payloads, events, headers) "
            "VALUES ($1,$2,$3,$4,$5,$6,$7)",
            rows,
        )


def rows_of(
    events: Sequence[Envelope[Any] | Encoded], headers: dict[str, str]
) -> list[OutboxRow]:
    """The outbox rows of `events`, in order: a run of consecutive events of one topic and key
    is a bundle (`payloads`, up to the limits), a lone event a row of its own (`payload`).
    Each event is encoded once, here (unless it came encoded)."""
    rows: list[OutboxRow] = []
    i, n = 0, len(events)
    while i < n:
        first = events[i]
        topic, key = first.type, first.connection_id
        values = [dump(first)]
        size = len(values[0])
        i += 1
        while (i < n and len(values) < BUNDLE_MAX and size < BUNDLE_BYTES
               and events[i].type == topic and events[i].connection_id == key):
            values.append(dump(events[i]))
            size += len(values[-1])
            i += 1
        if len(values) == 1:
            rows.append((first.id, topic, key, values[0], None, 1, headers))
        else:
            rows.append((first.id, topic, key, None, values, len(values), headers))
    return rows


async def publish_now(producer: AIOKafkaProducer, events: Sequence[Envelope[Any]]) -> None:
    """Publish events at once and wait for the broker's acknowledgement, encoded as the relay
    does. Only for events whose id is deterministic, so that a replay after a crash between this
    and the caller's commit is deduplicated by the consumers' inbox: they need no outbox row."""
    headers = [(k, v.encode()) for k, v in current_trace_headers().items()]
    messages = [Outgoing(e.type, e.connection_id.encode() if e.connection_id else None, dump(e),
                         headers) for e in events]
    async with GATE.publishing():
        await asyncio.gather(*await send_all(producer, messages))


@dataclass(frozen=True)
class Outgoing:
    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]


# How many messages are queued between two yields to the event loop: queueing 2,000 costs
# ~20 ms of CPU, time in which the process would answer no HTTP request.
YIELD_EVERY = 200


async def send_all(
    producer: AIOKafkaProducer, messages: Sequence[Outgoing]
) -> list[asyncio.Future[Any]]:
    """Queue `messages` as one producer batch per partition (a full one is queued and another
    begun), in order within each partition, partitioned by key as `producer.send` does; each
    message's outcome is its batch's future. Yields to the event loop every YIELD_EVERY messages.
    (aiokafka's empty batch takes a message of any size: the broker refuses one too large.)"""
    outcomes: list[asyncio.Future[Any] | None] = [None] * len(messages)
    known: set[str] = set()
    chosen: dict[tuple[str, bytes], tuple[str, int]] = {}
    batches: dict[tuple[str, int], tuple[Any, list[int]]] = {}

    async def queue(topic: str, partition: int) -> None:
        batch, members = batches.pop((topic, partition))
        future = await producer.send_batch(batch, topic, partition=partition)
        for i in members:
            outcomes[i] = future

    for i, m in enumerate(messages):
        if i and not i % YIELD_EVERY:
            await asyncio.sleep(0)
        if m.topic not in known:
            await producer.partitions_for(m.topic)  # the topic's metadata, for `_partition`
            known.add(m.topic)
        # aiokafka's own choice for `send`: the key's murmur2 hash (a random one without a key),
        # in pure Python, so computed once per key of the batch (a sync's events share one).
        known_tp = chosen.get((m.topic, m.key)) if m.key is not None else None
        tp = known_tp or (m.topic, producer._partition(m.topic, None, None, None, m.key, None))
        if m.key is not None:
            chosen[(m.topic, m.key)] = tp
        batch, members = batches.setdefault(tp, (producer.create_batch(), []))
        if not batch.append(key=m.key, value=m.value, timestamp=None, headers=m.headers):
            await queue(*tp)  # full
            batch, members = batches.setdefault(tp, (producer.create_batch(), []))
            batch.append(key=m.key, value=m.value, timestamp=None, headers=m.headers)
        members.append(i)
    for tp in list(batches):
        await queue(*tp)
    return [o for o in outcomes if o is not None]


def make_producer(bootstrap: str) -> AIOKafkaProducer:
    # No linger: every send is a batch `send_all` already filled, so waiting for more only
    # delays its acknowledgement (a page's checkpoint waits for it), and the sender's wake-ups
    # while it lingers cost CPU: a 27 KB page published and acknowledged one after another took
    # 0.85 ms of CPU and 4.3 ms at 2 ms of linger, 0.53 ms and 1.8 ms without (Tansu).
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        linger_ms=0,
        max_batch_size=1024 * 1024,
        max_request_size=8 * 1024 * 1024,
        request_timeout_ms=30_000,
    )


# The oldest rows of each topic, in id order: a backlog on one topic (a sync's change feed on
# `record.changed`) does not hold up the events of another (its `sync.completed`). Topics have
# no order between them; within a topic, and so for each key, rows still leave oldest first.
# Per topic, rows are taken while fewer than $1 events come before them (a bundle is taken
# whole, so at least one row), which bounds a pass by events as well as by rows.
_OLDEST_OF_EACH_TOPIC = """
SELECT o.id, o.event_id, o.topic, o.key, o.payload, o.payloads, o.events, o.headers,
       o.created_at
FROM (SELECT DISTINCT topic FROM outbox) t,
     LATERAL (SELECT outbox.*, sum(outbox.events) OVER (ORDER BY outbox.id) - outbox.events
                               AS before
              FROM outbox WHERE outbox.topic = t.topic ORDER BY outbox.id LIMIT $1) o
WHERE o.before < $1
ORDER BY o.id
"""


class OutboxRelay:
    """Publishes a schema's outbox rows to Kafka, oldest first per topic, then deletes them.

    One relay per schema publishes at a time (a session advisory lock), so rows of one key keep
    their order. A crash between publish and delete republishes rows: consumers dedupe by id.
    """

    def __init__(
        self,
        dsn: str,
        schema: str,
        producer: AIOKafkaProducer,
        *,
        batch_size: int = 2000,
        idle_wait: float = 30.0,  # a NOTIFY from the writing transaction wakes it at once
        max_message_bytes: int = MAX_MESSAGE_BYTES,
    ) -> None:
        self._dsn = dsn
        self._schema = schema
        self._producer = producer
        self._batch_size = batch_size
        self._idle_wait = idle_wait
        self._max_bytes = max_message_bytes
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.published = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self._schema}")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self._lead()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the relay must outlive any one failure
                log.warning("outbox relay failed; retrying", schema=self._schema, error=repr(exc))
                await asyncio.sleep(1.0)

    async def _lead(self) -> None:
        conn = await db.connect(self._dsn, self._schema)
        try:
            lock_key = f"ferry.outbox.{self._schema}"
            while not await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", lock_key):
                await asyncio.sleep(1.0)
            await conn.add_listener(f"{self._schema}_outbox", lambda *_: self._wake.set())
            while not self._stopping:
                # Cleared before reading, so a row committed while this batch is sent wakes it.
                self._wake.clear()
                sent = await self._publish_batch(conn)
                if sent < self._batch_size:
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self._idle_wait)
        finally:
            with contextlib.suppress(Exception):
                await conn.close()

    async def _publish_batch(self, conn: asyncpg.Connection) -> int:
        """Publish the oldest rows; returns how many events they held. A row goes once all its
        messages are acknowledged; a message the broker can never take goes to `outbox_dead`
        (alone: the rest of its bundle is published); at any other failure the rows before it
        go and the rest wait (a bundle published in part is published again, whole: consumers
        dedupe by event id)."""
        rows = await conn.fetch(_OLDEST_OF_EACH_TOPIC, self._batch_size)
        if not rows:
            return 0
        outgoing: list[Outgoing] = []
        early: list[list[BaseException | None]] = []  # per row, per message
        for row in rows:
            messages = self._messages(row)
            early.append([m if isinstance(m, BaseException) else None for m in messages])
            outgoing += [m for m in messages if isinstance(m, Outgoing)]
        async with GATE.publishing():  # acknowledged before a topic rollover may start
            sent = iter(await send_all(self._producer, outgoing))
            outcomes = [[await _outcome(next(sent) if error is None else error)
                         for error in errors] for errors in early]
        done: list[int] = []
        published = 0
        failure: BaseException | None = None
        for row, errors in zip(rows, outcomes, strict=True):
            failure = next((e for e in errors
                            if e is not None and not isinstance(e, MessageSizeTooLargeError)),
                           None)
            if failure is not None:
                break
            too_large = [(i, e) for i, e in enumerate(errors) if e is not None]
            if too_large:
                await self._dead_letter(conn, row, too_large)
            else:
                done.append(row["id"])
                published += row["events"]
        await conn.execute("DELETE FROM outbox WHERE id = ANY($1::bigint[])", done)
        self.published += published
        if failure is not None:
            raise failure
        return sum(row["events"] for row in rows)

    def _messages(self, row: asyncpg.Record) -> list[Outgoing | BaseException]:
        """The row's messages, in order; in place of one too large to go, that error."""
        headers = [(k, v.encode()) for k, v in headers_of(row["headers"]).items()]
        key = row["key"].encode() if row["key"] else None
        overhead = len(key or b"") + sum(len(k) + len(v) for k, v in headers)
        topic, room = row["topic"], self._max_bytes - overhead
        out: list[Outgoing | BaseException] = []
        for value in _payloads(row):
            if len(value) > room:
                out.append(MessageSizeTooLargeError(
                    f"outbox row of {len(value) + overhead} bytes exceeds the broker's limit of "
                    f"{self._max_bytes} bytes"))
            else:
                out.append(Outgoing(topic, key, value, headers))
        return out

    async def _dead_letter(
        self, conn: asyncpg.Connection, row: asyncpg.Record,
        too_large: list[tuple[int, BaseException]],
    ) -> None:
        """Keep each message of the row that cannot go in `outbox_dead` and say so on
        `<topic>.dlq` (its payload cannot go); then the row goes (the rest of it was sent)."""
        payloads = _payloads(row)
        dead: list[tuple[Any, bytes, str]] = []
        for i, error in too_large:
            event_id = row["event_id"] if row["payloads"] is None else _event_id(payloads[i])
            dead.append((event_id, payloads[i], str(error)))
        for event_id, _, reason in dead:
            log.error("outbox row dead-lettered", schema=self._schema, topic=row["topic"],
                      id=row["id"], event_id=str(event_id), reason=reason)
            headers = {"ferry-error": reason, "ferry-original-topic": row["topic"],
                       "ferry-event-id": str(event_id), "ferry-outbox-schema": self._schema,
                       "ferry-outbox-id": str(row["id"])}
            await self._producer.send_and_wait(
                dlq(row["topic"]), value=b"", key=row["key"].encode() if row["key"] else None,
                headers=[(k, v.encode()) for k, v in headers.items()])
        async with conn.transaction():
            await conn.executemany(
                "INSERT INTO outbox_dead "
                "(id, event_id, topic, key, payload, headers, created_at, reason) "
                "SELECT id, $2, topic, key, $3, headers, created_at, $4 "
                "FROM outbox WHERE id = $1 ON CONFLICT (id, event_id) DO NOTHING",
                [(row["id"], event_id, payload, reason) for event_id, payload, reason in dead],
            )
            await conn.execute("DELETE FROM outbox WHERE id = $1", row["id"])


def _payloads(row: asyncpg.Record) -> list[bytes]:
    """A row's messages: its bundle, or its one payload."""
    bundle = row["payloads"]
    return list(bundle) if bundle is not None else [bytes(row["payload"])]


def _event_id(payload: bytes) -> UUID:
    """The id in an encoded envelope (only a dead-lettered message of a bundle needs it)."""
    return UUID(orjson.loads(payload)["id"])


async def _outcome(sent: asyncio.Future[Any] | BaseException) -> BaseException | None:
    if isinstance(sent, BaseException):
        return sent
    try:
        await sent
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - the caller decides what each failure means
        return exc
    return None


def headers_of(raw: Any) -> dict[str, str]:
    if isinstance(raw, dict):
        return raw
    return orjson.loads(raw) if raw else {}

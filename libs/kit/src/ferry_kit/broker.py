"""Kafka for Ferry services: the broker, explicit topics, and at-least-once consumers with a DLQ.

Every service consumes through `Consumer`: one FastStream batch subscriber over all the topics
the service reads (each subscriber costs a consumer-group join at start), manual commits after
the handlers' effects are durable, poison messages routed to `<topic>.dlq`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import asyncpg
import orjson
from aiokafka import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from ferry_contracts import Envelope
from ferry_contracts.topics import dlq, parse
from opentelemetry.sdk.trace import TracerProvider
from pydantic import ValidationError

from . import logging as klog
from .fetchpace import FetchPace
from .settings import KitSettings
from .topicadmin import ensure_topics as ensure_topics  # its home before topicadmin.py

log = klog.get("ferry.consumer")

Handler = Callable[[list[Envelope[Any]]], Awaitable[None]]
Projects = Callable[[list[str | None]], Awaitable[Collection[str | None]]]

# Infrastructure failures are retried forever: the message is fine, the world is not.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    ConnectionError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
)

# How long one read of a consumer waits for records. `getmany` returns as soon as the fetcher
# has some, so this costs no latency: it only sets how often an idle consumer's loop goes round.
READ_WAIT_MS = 30_000

# Policies that commit only after the handler's effect; ACK_FIRST would be at-most-once.
AT_LEAST_ONCE = {AckPolicy.MANUAL, AckPolicy.NACK_ON_ERROR}


def make_broker(
    settings: KitSettings, service: str, tracer_provider: TracerProvider | None = None
) -> KafkaBroker:
    middlewares = (
        [KafkaTelemetryMiddleware(tracer_provider=tracer_provider)] if tracer_provider else []
    )
    return KafkaBroker(
        settings.kafka_bootstrap,
        client_id=f"ferry-{service}",
        middlewares=middlewares,
        max_batch_size=1024 * 1024,
        max_request_size=8 * 1024 * 1024,
        graceful_timeout=10.0,
        # Per-message access lines only at DEBUG: at tens of thousands a second they are noise.
        log_level=10,
        # Its own logger would print INFO lines whatever FERRY_LOG_LEVEL says.
        logger=logging.getLogger(klog.KAFKA_LOGGER),
    )


@dataclass(frozen=True)
class Gated:
    """A topic handler that acts only on the events of some projects: `projects(ids)` answers
    which of a batch's projects (None: an event without one) it wants. The others' records are
    neither decoded nor handed to it, so they cost no inbox row either. Only for a handler with
    no effect at all on an event of a project it does not want: reprocessing such an event after
    a redelivery must be as harmless as skipping it. Such a record is skipped unvalidated: an
    invalid one reaches the dead-letter topic only if its project is wanted (or unreadable)."""

    handle: Handler
    projects: Projects

    async def __call__(self, events: list[Envelope[Any]]) -> None:
        await self.handle(events)


# How every Ferry envelope begins (`topics.dump`: pydantic writes its fields in order, and no
# unescaped quote can occur inside a JSON string): its project is read there in a tenth of the
# time of decoding the whole message. Anything else (a project id with an escape, another
# writer's field order) is decoded.
_HEAD = re.compile(
    rb'\{"id":"[^"]*","type":"[^"]*","occurred_at":"[^"]*","project_id":(?:null|"([^"\\]*)")[,}]'
)


def project_of(raw: bytes) -> tuple[bool, str | None]:
    """`(True, project id)` read from a message without validating it; `(False, None)` when it
    is not an envelope (the full parse then names the fault)."""
    head = _HEAD.match(raw)
    if head is not None and head.group(1) is None:
        return True, None
    if head is not None:
        with contextlib.suppress(UnicodeDecodeError):
            return True, head.group(1).decode()
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return False, None
    project = doc.get("project_id") if isinstance(doc, dict) else 0
    return (True, project) if project is None or isinstance(project, str) else (False, None)


@dataclass
class _Item:
    record: ConsumerRecord[Any, Any]
    envelope: Envelope[Any]


class Consumer:
    """One at-least-once batch consumer for a service, dispatching by topic."""

    def __init__(
        self,
        broker: KafkaBroker,
        settings: KitSettings,
        group: str,
        handlers: dict[str, Handler],
        *,
        max_records: int | None = None,
        retry_base_delay: float = 0.1,
    ) -> None:
        self._broker = broker
        self._handlers = handlers
        self._max_attempts = settings.handler_max_attempts
        self._retry_base = retry_base_delay
        self.dead_lettered = 0
        self.skipped = 0  # records a gated handler did not want (see `Gated`)
        self._wanted_until: dict[tuple[str, str | None], float] = {}
        self.pace = FetchPace(settings)  # started by the runtime once the consumer is

        async def _no_decode(msg: Any, original: Any = None) -> None:
            return None  # we parse raw records ourselves so bad JSON reaches the DLQ

        self.subscriber = broker.subscriber(
            *handlers,
            group_id=group,
            batch=True,
            max_records=max_records or settings.consumer_max_records,
            batch_timeout_ms=100,
            ack_policy=AckPolicy.MANUAL,
            auto_offset_reset="earliest",
            session_timeout_ms=settings.kafka_session_timeout_ms,
            heartbeat_interval_ms=settings.kafka_heartbeat_interval_ms,
            fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
            max_partition_fetch_bytes=8 * 1024 * 1024,
            decoder=_no_decode,
        )
        self.subscriber(self._on_batch)
        self._max_records = max_records or settings.consumer_max_records
        # FastStream's batch read sleeps for its batch timeout after an empty read, and reads
        # with that timeout: ten wake-ups a second of a consumer doing nothing, and up to 100 ms
        # added to the first event after a quiet spell. Stopping the subscriber cancels the read.
        self.subscriber.get_msg = self._read  # type: ignore[method-assign]

    async def _read(self, consumer: Any) -> tuple[ConsumerRecord[Any, Any], ...]:
        batches = await consumer.getmany(timeout_ms=READ_WAIT_MS, max_records=self._max_records)
        return tuple(chain(*batches.values()))

    async def _on_batch(self, body: Any, msg: KafkaMessage) -> None:
        """Ack only once every record is handled or dead-lettered. An error that escapes (a
        failed dead-letter publish) must not be left to FastStream, which logs it and goes on:
        the next batch's ack would commit past these records. The batch is retried instead
        (handlers are idempotent); while it is, nothing of these partitions is committed."""
        self.pace.active()
        raw = msg.raw_message
        records: Sequence[ConsumerRecord[Any, Any]] = raw if isinstance(raw, tuple) else (raw,)
        failures = 0
        while True:
            try:
                await self.process(records)
                break
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - anything, or the commit skips these records
                failures += 1
                delay = min(30.0, self._retry_base * 2 ** min(failures, 8))
                log.error("batch failed outside its handlers; retrying it", error=repr(exc),
                          records=len(records), attempt=failures, delay=delay)
                await asyncio.sleep(delay)
        await msg.ack()

    async def process(self, records: Sequence[ConsumerRecord[Any, Any]]) -> None:
        """Handle records in order, a run of one topic at a time; return when all are durable."""
        run: list[ConsumerRecord[Any, Any]] = []  # every record of a run has the first's topic
        for record in records:
            if run and record.topic != run[0].topic:
                await self._run(run)
                run = []
            run.append(record)
        if run:
            await self._run(run)

    async def _run(self, records: list[ConsumerRecord[Any, Any]]) -> None:
        topic = records[0].topic
        handler = self._handlers[topic]
        if isinstance(handler, Gated):
            records = await self._wanted(handler, records)
        items: list[_Item] = []
        for record in records:
            try:
                envelope = parse(record.value or b"", record.topic)
            except (ValueError, ValidationError) as exc:
                await self._dead_letter(record, f"invalid message: {exc}")
                continue
            items.append(_Item(record, envelope))
        if items:
            await self._handle(topic, items)

    # A project found wanted is not asked about again for this long: a stale "wanted" costs only
    # the decode (the handler decides again in its own transaction), where a question per run
    # would cost a round of queries per small batch of a project with endpoints. "Not wanted" is
    # never remembered: an endpoint created since would miss events.
    WANTED_TTL_SECONDS = 30.0

    async def _wanted(
        self, handler: Gated, records: list[ConsumerRecord[Any, Any]]
    ) -> list[ConsumerRecord[Any, Any]]:
        """The records of the projects the handler wants, and those that are not envelopes (for
        the parse to dead-letter). One question per run at most; a failure is retried like a
        batch's."""
        topic, now = records[0].topic, time.monotonic()
        heads = [project_of(r.value or b"") for r in records]
        projects = dict.fromkeys(p for ok, p in heads if ok)
        wanted = {p for p in projects if self._wanted_until.get((topic, p), 0.0) > now}
        if ask := [p for p in projects if p not in wanted]:
            fresh = set(await handler.projects(ask))
            if len(self._wanted_until) > 10_000:
                self._wanted_until.clear()
            for p in fresh:
                self._wanted_until[(topic, p)] = now + self.WANTED_TTL_SECONDS
            wanted |= fresh
        kept = [r for r, (ok, p) in zip(records, heads, strict=True) if not ok or p in wanted]
        self.skipped += len(records) - len(kept)
        return kept

    async def _handle(self, topic: str, items: list[_Item]) -> None:
        handler = self._handlers[topic]
        if len(items) > 1 and await self._attempt(handler, items, attempts=1):
            return
        # Something in the batch fails: isolate it. A record that fails holds up only the
        # records after it on its partition (their order is kept); the other partitions go on
        # at once, and the held ones are retried, the failing one dead-lettered, afterwards.
        held: dict[int, list[_Item]] = {}
        for item in items:
            partition = item.record.partition
            if partition in held or not await self._attempt(handler, [item], attempts=1):
                held.setdefault(partition, []).append(item)
        for queue in held.values():
            for item in queue:
                if not await self._attempt(handler, [item], attempts=self._max_attempts):
                    await self._dead_letter(item.record, self._last_error)

    _last_error = ""

    async def _attempt(self, handler: Handler, items: list[_Item], attempts: int) -> bool:
        failures = 0
        while True:
            try:
                await handler([i.envelope for i in items])
                return True
            except asyncio.CancelledError:
                raise
            except TRANSIENT_ERRORS as exc:
                delay = min(30.0, self._retry_base * 2 ** min(failures, 8))
                log.warning("transient failure; retrying", topic=items[0].record.topic,
                            error=repr(exc), delay=delay)
                failures += 1
                await asyncio.sleep(delay)
            except Exception as exc:  # noqa: BLE001 - any other failure counts as an attempt
                failures += 1
                self._last_error = f"{type(exc).__name__}: {exc}"
                log.warning(
                    "handler failed",
                    topic=items[0].record.topic,
                    attempt=failures,
                    batch=len(items),
                    error=self._last_error,
                )
                if failures >= attempts:
                    return False
                # 0.1, 0.2, 0.4, 0.8 s by default: a poison message reaches the DLQ in ~1.5 s,
                # and the partitions its batch holds up go on after that.
                await asyncio.sleep(self._retry_base * 2 ** min(failures - 1, 6))

    async def _dead_letter(self, record: ConsumerRecord[Any, Any], reason: str) -> None:
        self.dead_lettered += 1
        log.error("message sent to the dead-letter topic", topic=record.topic,
                  offset=record.offset, reason=reason)
        await self._broker.publish(
            record.value or b"",
            topic=dlq(record.topic),
            key=record.key,
            headers={
                "ferry-error": reason[:2000],
                "ferry-original-topic": record.topic,
                "ferry-original-partition": str(record.partition),
                "ferry-original-offset": str(record.offset),
            },
        )

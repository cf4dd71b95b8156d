"""`ferry dlq`: look at the dead letters of a topic and replay them to where they came from.

A dead letter is a message a consumer could not handle (its payload, with the error and the
original topic/partition/offset in `ferry-*` headers), or a notice of an outbox row too large
for the broker (no payload: the row is kept in that service's `outbox_dead` table). Replaying
re-publishes the original payload to the original topic: consumers dedupe by event id, so a
replay of something already handled has no second effect.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from ferry_contracts.topics import dlq

_SUFFIX = ".dlq"


@dataclass
class DeadLetter:
    partition: int
    offset: int
    key: str | None
    value: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def origin(self) -> str:
        return self.headers.get("ferry-original-topic", "")

    @property
    def replayable(self) -> bool:
        return bool(self.value) and bool(self.origin)

    def summary(self) -> dict[str, object]:
        h = self.headers
        return {
            "dlq_partition": self.partition,
            "dlq_offset": self.offset,
            "key": self.key,
            "original_topic": self.origin,
            "original_partition": _int(h.get("ferry-original-partition")),
            "original_offset": _int(h.get("ferry-original-offset")),
            "error": h.get("ferry-error"),
            "event_id": h.get("ferry-event-id") or _event_id(self.value),
            "bytes": len(self.value),
            "kept_in": f"{h['ferry-outbox-schema']}.outbox_dead id {h.get('ferry-outbox-id')}"
            if "ferry-outbox-schema" in h
            else None,
        }


def dead_letter_topic(topic: str) -> str:
    return topic if topic.endswith(_SUFFIX) else dlq(topic)


async def read(bootstrap: str, topic: str, key: str | None = None) -> list[DeadLetter]:
    """Every dead letter of `topic` (with `key`, if given) up to the end of the topic now."""
    name = dead_letter_topic(topic)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    try:
        await consumer.topics()  # loads the metadata: which partitions the topic has
        tps = [TopicPartition(name, p) for p in sorted(consumer.partitions_for_topic(name) or ())]
        if not tps:
            return []
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        out: list[DeadLetter] = []
        while [tp for tp in tps if await consumer.position(tp) < end[tp]]:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                out += [
                    _letter(r)
                    for r in records
                    if r.offset < end[TopicPartition(r.topic, r.partition)]
                ]
        return [
            d
            for d in sorted(out, key=lambda d: (d.partition, d.offset))
            if key is None or d.key == key
        ]
    finally:
        await consumer.stop()


async def replay(bootstrap: str, letters: list[DeadLetter]) -> tuple[int, int]:
    """Re-publish each replayable letter's payload to its original topic, with its key.
    Returns (replayed, skipped)."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", max_request_size=8 * 1024 * 1024
    )
    await producer.start()
    replayed = skipped = 0
    try:
        for d in letters:
            if not d.replayable:
                skipped += 1
                continue
            source = f"{dead_letter_topic(d.origin)}:{d.partition}:{d.offset}"
            await producer.send_and_wait(
                d.origin,
                d.value,
                key=d.key.encode() if d.key else None,
                headers=[("ferry-replayed-from", source.encode())],
            )
            replayed += 1
    finally:
        await producer.stop()
    return replayed, skipped


def _letter(r: ConsumerRecord[bytes, bytes]) -> DeadLetter:
    headers = {k: v.decode(errors="replace") for k, v in (r.headers or ())}
    key = r.key.decode(errors="replace") if r.key else None
    return DeadLetter(r.partition, r.offset, key, r.value or b"", headers)


def _int(value: str | None) -> int | None:
    return int(value) if value and value.lstrip("-").isdigit() else None


def _event_id(value: bytes) -> str | None:
    try:
        decoded = json.loads(value)
    except ValueError:
        return None
    return str(decoded.get("id")) if isinstance(decoded, dict) and decoded.get("id") else None

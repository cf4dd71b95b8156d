"""Where one sync job's wall time goes: a timestamp per hop, from the bus and the databases.

Before the job is requested, `HopTrace.mark()` notes the end offset of every partition of the
topics the job crosses; once the bench has seen it `complete`, `report(job_id, ...)` reads what
was published since (broker timestamps = when a producer sent each message) and the job's rows
in the executor's and the records service's schemas, and prints each hop's time from the
request. A benchmark's instrument only: it reads, it never changes what it measures.
"""

from __future__ import annotations

import time
from datetime import datetime

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

TOPICS = ("records.fetched", "sync.completed", "record.changed", "sync.job.changed")


class HopTrace:
    def __init__(self, bootstrap: str, dsn: str) -> None:
        self.bootstrap, self.dsn = bootstrap, dsn
        self.start: dict[TopicPartition, int] = {}

    async def _consumer(self) -> tuple[AIOKafkaConsumer, list[TopicPartition]]:
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        await consumer.start()
        parts = [TopicPartition(t, p) for t in TOPICS
                 for p in sorted(consumer.partitions_for_topic(t) or ())]
        return consumer, parts

    async def mark(self) -> None:
        consumer, parts = await self._consumer()
        try:
            self.start = await consumer.end_offsets(parts)
        finally:
            await consumer.stop()

    async def _messages(self) -> list[tuple[str, float, dict]]:
        """(topic, broker timestamp in s, envelope) of every message since `mark`."""
        consumer, parts = await self._consumer()
        out: list[tuple[str, float, dict]] = []
        try:
            ends = await consumer.end_offsets(parts)
            consumer.assign(parts)
            for tp in parts:
                consumer.seek(tp, self.start.get(tp, 0))
            todo = {tp for tp in parts if ends[tp] > self.start.get(tp, 0)}
            while todo:
                got = await consumer.getmany(timeout_ms=1000, max_records=2000)
                for tp, msgs in got.items():
                    for m in msgs:
                        if m.offset < ends[tp]:
                            out.append((tp.topic, m.timestamp / 1000, orjson.loads(m.value)))
                        if m.offset >= ends[tp] - 1:
                            todo.discard(tp)
        finally:
            await consumer.stop()
        return out

    async def report(
        self, job_id: str, requested: float, answered: float, seen: float,
        request: str = "POST /v1/connections/{id}/sync",
    ) -> None:
        """Print the hops of job `job_id`: requested/answered/seen are the bench's wall clock
        (time.time()) at the `request` that began it, its answer, and the GET that first saw
        `complete`."""
        messages = await self._messages()
        db = await asyncpg.connect(self.dsn)
        try:
            ex = await db.fetchrow("SELECT created_at, started_at, completed_at FROM executor.jobs"
                                   " WHERE id = $1", job_id)
            rj = await db.fetchrow("SELECT connection_id, first_position, created_at, ended_at"
                                   " FROM records.jobs WHERE job_id = $1", job_id)
            groups = await db.fetch(
                "SELECT modified_at, count(*) AS n FROM records.records WHERE connection_id = $1"
                " AND position >= $2 GROUP BY modified_at ORDER BY modified_at",
                rj["connection_id"], rj["first_position"]) if rj else []
        finally:
            await db.close()
        hops: list[tuple[str, float]] = [(f"{request} sent", requested),
                                         (f"{request} answered", answered)]

        def at(label: str, when: datetime | float | None) -> None:
            if when is not None:
                hops.append((label, when if isinstance(when, float) else when.timestamp()))

        if ex:
            at("executor: job row created", ex["created_at"])
            at("executor: job claimed (started_at)", ex["started_at"])
        mine = [(t, ts, e) for t, ts, e in messages if _job_of(t, e) == job_id]
        fetched = [(ts, e["data"]["item"]["kind"]) for t, ts, e in mine if t == "records.fetched"]
        pages = [ts for ts, kind in fetched if kind == "page"]
        ends = [ts for ts, kind in fetched if kind != "page"]
        for t, ts, e in mine:
            if t == "sync.job.changed":
                at(f"bus: sync.job.changed → {e['data']['job']['status']}", ts)
        if pages:
            at(f"bus: first page published ({len(pages)} pages)", min(pages))
            at("bus: last page published", max(pages))
        if ends:
            at("bus: end marker published (executor outbox relay)", ends[0])
        if groups:
            at(f"records: first ingest transaction ({len(groups)} transactions)",
               groups[0]["modified_at"])
            at("records: last ingest transaction", groups[-1]["modified_at"])
        if rj:
            at("records: end marker handled (jobs.ended_at)", rj["ended_at"])
        changed = [ts for t, ts, e in mine if t == "record.changed"]
        if changed:
            at(f"bus: first record.changed published ({len(changed)})", min(changed))
            at("bus: last record.changed published", max(changed))
        done = [ts for t, ts, e in mine if t == "sync.completed"]
        if done:
            at("bus: sync.completed published (records outbox relay)", done[0])
        if ex:
            at("executor: job complete (completed_at)", ex["completed_at"])
        hops.append(("bench: GET saw complete", seen))
        print(f"  hops of job {job_id} (s after the POST; Δ from the previous line):")
        last = requested
        for label, when in sorted(hops, key=lambda h: h[1]):
            print(f"    {when - requested:8.3f}  (+{when - last:6.3f})  {label}")
            last = when


def _job_of(topic: str, envelope: dict) -> str | None:
    data = envelope.get("data") or {}
    if topic == "records.fetched":
        return (data.get("item") or {}).get("job_id")
    if topic == "sync.job.changed":
        return (data.get("job") or {}).get("id")
    return data.get("job_id")


def now() -> float:
    return time.time()

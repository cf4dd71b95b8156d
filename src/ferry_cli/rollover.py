"""Topic rollover for `ferry dev`: keeps the embedded broker's memory bounded.

Tansu keeps every message in memory and enforces no retention (~0.4 KB per record synced), but
deleting a topic frees its messages. Every publisher and consumer of `ferry dev` lives in this
process, so a topic that every consumer group has committed to its end can be recreated safely:
publishing pauses (the kit's `GATE`), the topic is checked again, deleted and created empty, the
consumers of this process are moved to its beginning, and publishing resumes.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from ferry_kit import logging as klog
from ferry_kit.gate import GATE

log = klog.get("ferry.dev.rollover")


class TopicRollover:
    def __init__(self, bootstrap: str, partitions: int, runtimes: list[Any], *,
                 min_messages: int = 100, interval: float = 30.0, settle: float = 1.2) -> None:
        self.bootstrap, self.partitions = bootstrap, partitions
        self.min_messages, self.interval, self.settle = min_messages, interval, settle
        # topic -> [(group, its consumer in this process)]
        self.readers: dict[str, list[tuple[str, Any]]] = {}
        for rt in runtimes:
            if rt.consumer is not None:
                for topic in rt.consumer._handlers:
                    self.readers.setdefault(topic, []).append((rt.name, rt.consumer))
        self.rolled = 0

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.roll_drained()
            except Exception as exc:  # noqa: BLE001 - a failed round is tried again later
                log.warning("topic rollover failed", error=repr(exc))

    async def roll_drained(self) -> list[str]:
        """Recreate every topic that is drained, under one pause of publishing."""
        candidates = [t for t in self.readers if await self._drained(t) >= self.min_messages]
        if not candidates:
            return []
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            async with GATE.paused():
                await asyncio.sleep(self.settle)  # a fetch sees the last acknowledged publish
                return [t for t in candidates if await self._roll(admin, t)]
        finally:
            await admin.close()

    async def _roll(self, admin: AIOKafkaAdminClient, topic: str) -> bool:
        messages = await self._drained(topic)
        if messages < self.min_messages:
            return False
        await admin.delete_topics([topic])
        await admin.create_topics([NewTopic(topic, self.partitions, 1)])
        for client in self._clients(topic):
            await client.seek_to_beginning(*self._mine(client, topic))
        self.rolled += 1
        log.info("topic recreated to free the broker's memory", topic=topic, messages=messages)
        return True

    def _clients(self, topic: str) -> list[Any]:
        return [consumer.subscriber.consumer for _, consumer in self.readers[topic]]

    @staticmethod
    def _mine(client: Any, topic: str) -> list[TopicPartition]:
        return sorted((tp for tp in client.assignment() if tp.topic == topic),
                      key=lambda tp: tp.partition)

    async def _drained(self, topic: str) -> int:
        """How many messages the topic holds when every group reading it (one consumer each, in
        this process) has committed all of them as far as its last fetch knows; else 0.
        (Tansu's ListOffsets and OffsetFetch through the admin client are not reliable.)"""
        held = -1
        for client in self._clients(topic):
            mine = self._mine(client, topic)
            if len(mine) != self.partitions:
                return 0  # joining or rebalancing
            total = 0
            for tp in mine:
                end = client.highwater(tp)
                done = await client.committed(tp)
                if end is None or (end and (done is None or done < end)):
                    return 0
                total += end
            held = max(held, total)
        return max(held, 0)

"""Topic rollover for `ferry dev`: keeps the embedded broker's memory bounded.

Tansu keeps every message in memory and enforces no retention (~0.4 KB per record synced), but
deleting a topic frees its messages. Every publisher and consumer of `ferry dev` is one of its
own processes, so a topic that every consumer group has committed to its end can be recreated
safely: publishing pauses in every process (the kit's `GATE`), the topic is checked again,
deleted and created empty, the consumers are moved to its beginning, and publishing resumes.
A `LocalMember` does this for the services of one process; a worker process of `ferry dev`
answers for its own over a socket (devworker.py, `RemoteMember` in dev.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Protocol

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from ferry_kit import logging as klog
from ferry_kit.gate import GATE

log = klog.get("ferry.dev.rollover")


class Member(Protocol):
    """The services of one process, as the rollover sees them."""

    async def topics(self) -> set[str]: ...
    async def drained(self, topic: str) -> int | None: ...
    async def pause(self) -> None: ...
    async def resume(self) -> None: ...
    async def seek(self, topic: str) -> None: ...


class LocalMember:
    """The consumers and publishers of this process."""

    def __init__(self, runtimes: list[Any], partitions: int | None = None) -> None:
        self.partitions = partitions
        # topic -> its consumers in this process (one per group)
        self.readers: dict[str, list[Any]] = {}
        for rt in runtimes:
            if rt.consumer is not None:
                for topic in rt.consumer._handlers:
                    self.readers.setdefault(topic, []).append(rt.consumer)
        self._pause: contextlib.AsyncExitStack | None = None

    async def topics(self) -> set[str]:
        return set(self.readers)

    async def pause(self) -> None:
        """No publish starts, and every publish under way has been acknowledged, until resume."""
        if self._pause is None:
            stack = contextlib.AsyncExitStack()
            await stack.enter_async_context(GATE.paused())
            self._pause = stack

    async def resume(self) -> None:
        stack, self._pause = self._pause, None
        if stack is not None:
            await stack.aclose()

    async def seek(self, topic: str) -> None:
        for client in self._clients(topic):
            await client.seek_to_beginning(*_mine(client, topic))

    def _clients(self, topic: str) -> list[Any]:
        return [consumer.subscriber.consumer for consumer in self.readers.get(topic, [])]

    async def drained(self, topic: str) -> int | None:
        """How many messages the topic holds when every group reading it here (one consumer
        each) has committed all of them as far as its last fetch knows; 0 if one has not; None
        if nothing here reads it. (Tansu's ListOffsets and OffsetFetch through the admin client
        are not reliable.)"""
        clients = self._clients(topic)
        if not clients:
            return None
        held = 0
        for client in clients:
            mine = _mine(client, topic)
            if not mine or (self.partitions is not None and len(mine) != self.partitions):
                return 0  # joining or rebalancing
            total = 0
            for tp in mine:
                end = client.highwater(tp)
                done = await client.committed(tp)
                if end is None or (end and (done is None or done < end)):
                    return 0
                total += end
            held = max(held, total)
        return held


def _mine(client: Any, topic: str) -> list[TopicPartition]:
    return sorted((tp for tp in client.assignment() if tp.topic == topic),
                  key=lambda tp: tp.partition)


class TopicRollover:
    def __init__(self, bootstrap: str, partitions: int, runtimes: list[Any] | None = None, *,
                 members: list[Member] | None = None, min_messages: int = 100,
                 interval: float = 30.0, settle: float = 1.2) -> None:
        self.bootstrap, self.partitions = bootstrap, partitions
        self.min_messages, self.interval, self.settle = min_messages, interval, settle
        self.members: list[Member] = list(members or [])
        if runtimes:
            self.members.append(LocalMember(runtimes, partitions))
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
        topics: set[str] = set()
        for member in self.members:
            topics |= await member.topics()
        candidates = [t for t in sorted(topics) if await self._drained(t) >= self.min_messages]
        if not candidates:
            return []
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            await asyncio.gather(*(m.pause() for m in self.members))
            try:
                await asyncio.sleep(self.settle)  # a fetch sees the last acknowledged publish
                return [t for t in candidates if await self._roll(admin, t)]
            finally:
                await asyncio.gather(*(m.resume() for m in self.members))
        finally:
            await admin.close()

    async def _roll(self, admin: AIOKafkaAdminClient, topic: str) -> bool:
        messages = await self._drained(topic)
        if messages < self.min_messages:
            return False
        await admin.delete_topics([topic])
        await admin.create_topics([NewTopic(topic, self.partitions, 1)])
        for member in self.members:
            await member.seek(topic)
        self.rolled += 1
        log.info("topic recreated to free the broker's memory", topic=topic, messages=messages)
        return True

    async def _drained(self, topic: str) -> int:
        """The messages of a topic every group has committed to its end, in every process."""
        held = 0
        for member in self.members:
            count = await member.drained(topic)
            if count == 0:
                return 0
            held = max(held, count or 0)
        return held

"""`ferry dev`'s worker answers the topic rollover over its socket, one JSON object a line."""

from __future__ import annotations

import asyncio
import json
import socket

from ferry_cli import devworker
from ferry_cli.rollover import TopicRollover


class FakeMember:
    def __init__(self, held: dict[str, int | None]) -> None:
        self.held, self.calls = held, []

    async def topics(self) -> set[str]:
        return {t for t, n in self.held.items() if n is not None}

    async def drained(self, topic: str) -> int | None:
        return self.held.get(topic)

    async def pause(self) -> None:
        self.calls.append("pause")

    async def resume(self) -> None:
        self.calls.append("resume")

    async def seek(self, topic: str) -> None:
        self.calls.append(f"seek {topic}")


async def test_a_worker_answers_each_request_and_ends_at_stop() -> None:
    member = FakeMember({"a": 120, "b": 0})
    ours, theirs = socket.socketpair()
    reader, writer = await asyncio.open_unix_connection(sock=theirs)
    our_reader, our_writer = await asyncio.open_unix_connection(sock=ours)
    talk = asyncio.create_task(devworker._converse(reader, writer, member))  # type: ignore[arg-type]
    replies = []
    for request in ({"op": "topics"}, {"op": "drained", "topic": "a"}, {"op": "pause"},
                    {"op": "seek", "topic": "a"}, {"op": "resume"}, {"op": "nonsense"}):
        our_writer.write(json.dumps(request).encode() + b"\n")
        replies.append(json.loads(await our_reader.readline()))
    our_writer.write(b'{"op": "stop"}\n')
    await asyncio.wait_for(talk, 5)
    assert replies[:2] == [{"topics": ["a", "b"]}, {"messages": 120}]
    assert replies[2:5] == [{"ok": True}] * 3 and "error" in replies[5]
    assert member.calls == ["pause", "seek a", "resume"]
    our_writer.close()
    writer.close()


async def test_a_topic_is_drained_only_when_every_process_reading_it_has_drained_it() -> None:
    rollover = TopicRollover("127.0.0.1:1", 1, members=[
        FakeMember({"a": 150, "b": 0, "c": 300}), FakeMember({"a": 200, "b": 500, "c": None})])
    assert await rollover._drained("a") == 200
    assert await rollover._drained("b") == 0  # one group is behind
    assert await rollover._drained("c") == 300  # nothing reads it in the second process

"""The delivery client's stream: a request's pieces leave in one send, before the answer is
read; a failed send is httpcore's write error."""

from __future__ import annotations

import asyncio

import httpcore
import pytest
from ferry_webhooks.client import AsyncioStream


class Writer:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[bytes] = []
        self.fail = fail

    def write(self, data: bytes) -> None:
        self.sent.append(data)

    async def drain(self) -> None:
        if self.fail:
            raise ConnectionResetError("reset by peer")


def stream(writer: Writer) -> AsyncioStream:
    reader = asyncio.StreamReader()
    reader.feed_data(b"HTTP/1.1 204 No Content\r\n\r\n")
    return AsyncioStream(reader, writer)  # type: ignore[arg-type]


async def test_a_requests_head_and_body_leave_in_one_send_before_the_answer_is_read() -> None:
    writer = Writer()
    s = stream(writer)
    await s.write(b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n")
    await s.write(b"{}")
    await s.write(b"")
    assert writer.sent == []
    assert await s.read(1024) == b"HTTP/1.1 204 No Content\r\n\r\n"
    assert writer.sent == [b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"]
    await s.read(0)
    assert len(writer.sent) == 1, "nothing held, nothing sent again"


async def test_a_long_request_goes_out_as_it_is_written() -> None:
    writer = Writer()
    s = stream(writer)
    await s.write(b"x" * AsyncioStream.HOLD_BYTES)
    assert writer.sent == [b"x" * AsyncioStream.HOLD_BYTES]


async def test_a_failed_send_is_a_write_error() -> None:
    s = stream(Writer(fail=True))
    await s.write(b"POST / HTTP/1.1\r\n\r\n")
    with pytest.raises(httpcore.WriteError):
        await s.read(1024)

"""The executor's provider client (`transport.ProviderHttp`, aiohttp on the wire) against a raw
loopback server: the same request bytes as httpx's own client, httpx's failures, content
decoding, and no cookie carried from one request to the next."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from ferry_connectors import ConnectorClient, ProviderUnavailable
from ferry_connectors.definition import Definition
from ferry_connectors.transport import provider_http
from ferry_kit.infra import free_port

PAGE = b'{"data": [{"id": 1, "n": "Zo\\u00eb"}], "next": "a b/c=+%"}'

DEF = Definition.model_validate({
    "name": "wire", "display_name": "Wire", "base_url": "http://wire",
    "auth": {"type": "none"},
    "models": {
        "ITEMS": {"request": {"path": "/v1/it ems", "params": {"q": "a&b=c ü"},
                              "headers": {"Accept": "application/vnd.wire+json",
                                          "X-Trace": "t1"}},
                  "records": "data", "page_size": 50, "limit_param": "limit",
                  "paging": {"type": "cursor", "cursor_path": "next",
                             "cursor_param": "cursor"}},
        "FOUND": {"request": {"method": "POST", "path": "/search",
                              "body": {"filter": "ü", "n": 1}},
                  "records": "data"},
    }})


def _answer(body: bytes, *extra: bytes) -> bytes:
    head = [b"HTTP/1.1 200 OK", b"content-type: application/json",
            b"content-length: " + str(len(body)).encode(), *extra]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


@asynccontextmanager
async def wire(
    answer: Callable[[bytes], bytes | None], hang_up: bool = False
) -> AsyncIterator[list[bytes]]:
    """A loopback server keeping each request's raw bytes (after its own URL, first); `answer`
    is what it writes back (None: nothing, the client waits); `hang_up`: then it closes."""
    seen: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                break
            length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            request = head + await reader.readexactly(length)
            seen.append(request)
            out = answer(request)
            if out is not None:
                writer.write(out)
                await writer.drain()
            if hang_up:
                break
        writer.close()

    port = free_port()
    server = await asyncio.start_server(serve, "127.0.0.1", port)
    try:
        seen.append(f"http://127.0.0.1:{port}".encode())
        yield seen
    finally:
        server.close()


def _client(http: httpx.AsyncClient, url: str) -> ConnectorClient:
    return ConnectorClient(DEF, http, base_url=url, headers={"Authorization": "Bearer tok"},
                           params={"api_version": "2"})


def _parts(raw: bytes) -> tuple[bytes, dict[bytes, bytes], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    line, *fields = head.split(b"\r\n")
    headers = {}
    for f in fields:
        k, _, v = f.partition(b":")
        headers[k.strip().lower()] = v.strip()
    return line, headers, body


async def test_the_provider_client_sends_what_httpx_sends():
    async with wire(lambda _: _answer(PAGE)) as seen:
        url = seen.pop(0).decode()
        for http in (httpx.AsyncClient(timeout=5), provider_http(5)):
            async with http:
                client = _client(http, url)
                page = await client.fetch_page("ITEMS", {"cursor": "x/y+z="})
                assert page.records == [{"id": 1, "n": "Zoë"}] and page.ids == ["1"]
                await client.fetch_page("FOUND", None)
    ours_get, ours_post = _parts(seen[2]), _parts(seen[3])
    for theirs, ours in ((_parts(seen[0]), ours_get), (_parts(seen[1]), ours_post)):
        assert ours[0] == theirs[0]  # method, path and query byte for byte
        assert ours[1] == theirs[1]  # every header (order aside), content type and length too
        assert ours[2] == theirs[2]
    assert ours_get[0].startswith(b"GET /v1/it%20ems?q=a%26b%3Dc+%C3%BC&limit=50&cursor=x%2F")
    assert ours_get[1][b"accept"] == b"application/vnd.wire+json"
    assert ours_post[1][b"content-type"] == b"application/json"
    assert ours_post[2] == '{"filter":"ü","n":1}'.encode()


async def test_a_compressed_answer_is_decoded():
    body = gzip.compress(PAGE)
    async with wire(lambda _: _answer(body, b"content-encoding: gzip")) as seen:
        async with provider_http(5) as http:
            page = await _client(http, seen.pop(0).decode()).fetch_page("ITEMS", None)
    assert page.records == [{"id": 1, "n": "Zoë"}]


async def test_a_cookie_set_by_one_answer_is_not_sent_with_the_next_request():
    cookie = b"set-cookie: session=s3cret; Path=/"
    async with wire(lambda _: _answer(PAGE, cookie)) as seen:
        async with provider_http(5) as http:
            client = _client(http, seen.pop(0).decode())
            await client.fetch_page("ITEMS", None)
            await client.fetch_page("ITEMS", None)
    assert len(seen) == 2 and b"s3cret" not in seen[1]


async def test_a_provider_that_does_not_answer_in_time_is_unavailable():
    async with wire(lambda _: None) as seen:
        async with provider_http(0.3) as http:
            with pytest.raises(ProviderUnavailable, match="ReadTimeout"):
                await _client(http, seen.pop(0).decode()).fetch_page("ITEMS", None)


async def test_a_provider_that_refuses_the_connection_is_unavailable():
    async with provider_http(5) as http:
        client = _client(http, f"http://127.0.0.1:{free_port()}")
        with pytest.raises(ProviderUnavailable, match="ConnectError"):
            await client.fetch_page("ITEMS", None)


async def test_a_connection_dropped_mid_answer_is_unavailable():
    async with wire(lambda _: _answer(PAGE)[:-10], hang_up=True) as seen:
        async with provider_http(5) as http:
            with pytest.raises(ProviderUnavailable, match="RemoteProtocolError"):
                await _client(http, seen.pop(0).decode()).fetch_page("ITEMS", None)

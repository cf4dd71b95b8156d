"""The HTTP client of deliveries: httpcore's HTTP/1.1 connections to checked addresses.

A new connection resolves the name once, is refused unless every address passes the guard, and
goes to the checked address itself; TLS (SNI, certificate) and the Host header still use the
name. So a name that changes its answer between the check and the connection (DNS rebinding)
cannot reach another address. A kept-alive connection goes to an address that was checked when
it was opened. Redirects are never followed (httpcore does not).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore

from . import guard

MAX_DRAIN_BYTES = 64 * 1024  # a longer body is not read to the end: the connection is closed
KEEPALIVE_SECONDS = 4.0  # under the 5 s after which many servers drop an idle connection


class _Stale(Exception):
    pass


class AsyncioStream(httpcore.AsyncNetworkStream):
    """asyncio streams for httpcore, lighter than its anyio backend (~25 % of the client's CPU
    per request here). Timeouts are the caller's: one `asyncio.timeout` around the exchange."""

    EXTRA = {"server_addr": "peername", "client_addr": "sockname"}

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            return await self.reader.read(max_bytes)
        except OSError as exc:
            raise httpcore.ReadError(str(exc)) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        try:
            self.writer.write(buffer)
            await self.writer.drain()
        except OSError as exc:
            raise httpcore.WriteError(str(exc)) from exc

    async def aclose(self) -> None:
        self.writer.close()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        try:
            await self.writer.start_tls(ssl_context, server_hostname=server_hostname)
        except OSError as exc:  # ssl.SSLError included
            raise httpcore.ConnectError(str(exc)) from exc
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":  # httpcore's test of an idle connection the server closed
            return self.reader.at_eof()
        return self.writer.get_extra_info(self.EXTRA.get(info, info))


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
                          ) -> httpcore.AsyncNetworkStream:
        try:
            return AsyncioStream(*await asyncio.open_connection(host, port))
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class WebhookClient:
    """Keep-alive connections per origin are kept here rather than in httpcore's pool, which
    polls every idle connection for each request (~3 ms of CPU per request at 64 in flight)."""

    def __init__(self, allow_loopback: bool, resolve: guard.Resolve = guard.system_resolve,
                 max_idle_per_origin: int = 128, excerpt_bytes: int = 1024,
                 network: httpcore.AsyncNetworkBackend | None = None) -> None:
        self.allow_loopback = allow_loopback
        self.resolve = resolve
        self.network = network or AsyncioBackend()
        self.max_idle = max_idle_per_origin
        self.excerpt_bytes = excerpt_bytes
        self._ssl = ssl.create_default_context()
        self._idle: dict[tuple[str, str, int], list[httpcore.AsyncHTTP11Connection]] = {}

    async def post(self, target: guard.Target, body: bytes,
                   headers: dict[str, str]) -> tuple[int, bytes]:
        """POST and return (status, the first bytes of the response body)."""
        url = httpcore.URL(scheme=target.scheme, host=target.host, port=target.port,
                           target=target.path)
        sent = [("Host", target.host_header), ("Content-Length", str(len(body))),
                *headers.items()]
        request = httpcore.Request("POST", url, headers=sent, content=body)
        idle = self._idle.setdefault((target.scheme, target.host, target.port), [])
        while idle:
            conn = idle.pop()
            if conn.has_expired() or not conn.is_idle():
                await conn.aclose()
                continue
            try:
                return await self._exchange(conn, request, idle, reused=True)
            except _Stale:
                continue
        conn = httpcore.AsyncHTTP11Connection(url.origin, await self._connect(target),
                                              KEEPALIVE_SECONDS)
        return await self._exchange(conn, request, idle, reused=False)

    async def _connect(self, target: guard.Target) -> httpcore.AsyncNetworkStream:
        """A connection to an address checked just now; TLS (SNI, certificate) for the name."""
        ips = await guard.addresses(target.host, target.port, self.allow_loopback, self.resolve)
        for i, ip in enumerate(ips):
            try:
                stream = await self.network.connect_tcp(str(ip), target.port)
                break
            except (httpcore.ConnectError, httpcore.ConnectTimeout):
                if i == len(ips) - 1:
                    raise
        if target.scheme == "https":
            try:
                return await stream.start_tls(self._ssl, server_hostname=target.host)
            except BaseException:
                await stream.aclose()
                raise
        return stream

    async def _exchange(self, conn: httpcore.AsyncHTTP11Connection, request: httpcore.Request,
                        idle: list[httpcore.AsyncHTTP11Connection],
                        reused: bool) -> tuple[int, bytes]:
        read = b""
        try:
            try:
                response = await conn.handle_async_request(request)
            except (httpcore.ReadError, httpcore.WriteError, httpcore.RemoteProtocolError):
                if reused:  # closed by the server while idle, before any answer: try another
                    raise _Stale() from None
                raise
            try:
                async for chunk in response.aiter_stream():
                    read += chunk
                    if len(read) > MAX_DRAIN_BYTES:
                        break
            finally:
                await response.aclose()
        except BaseException:
            await conn.aclose()
            raise
        if conn.is_idle() and len(idle) < self.max_idle:
            idle.append(conn)
        else:
            await conn.aclose()
        return response.status, read[: self.excerpt_bytes]

    async def aclose(self) -> None:
        for conns in self._idle.values():
            for conn in conns:
                await conn.aclose()
        self._idle.clear()

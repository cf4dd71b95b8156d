"""The HTTP client of deliveries: httpcore over a network backend pinned to checked addresses.

The backend resolves a name once per new connection, refuses it unless every address passes
the guard, and connects to the checked address itself; TLS (SNI, certificate) and the Host
header still use the name. So a name that changes its answer between the check and the
connection (DNS rebinding) cannot reach another address. A kept-alive connection goes to an
address that was checked when it was opened. Redirects are never followed (httpcore does not).
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable

import httpcore

from . import guard

MAX_DRAIN_BYTES = 64 * 1024  # a longer body is not read to the end: the connection is closed


class PinnedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, allow_loopback: bool, resolve: guard.Resolve,
                 inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self.allow_loopback = allow_loopback
        self.resolve = resolve
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
                          ) -> httpcore.AsyncNetworkStream:
        ips = await guard.addresses(host, port, self.allow_loopback, self.resolve, timeout or 5.0)
        error: Exception | None = None
        for ip in ips:
            try:
                return await self.inner.connect_tcp(str(ip), port, timeout, local_address,
                                                    socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(self, *args: object,
                                  **kwargs: object) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not webhook endpoints")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class WebhookClient:
    def __init__(self, allow_loopback: bool, resolve: guard.Resolve = guard.system_resolve,
                 max_connections: int = 128, excerpt_bytes: int = 1024,
                 network: httpcore.AsyncNetworkBackend | None = None) -> None:
        self.excerpt_bytes = excerpt_bytes
        self.pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl.create_default_context(), max_connections=max_connections,
            max_keepalive_connections=max_connections, keepalive_expiry=5.0,
            network_backend=PinnedBackend(allow_loopback, resolve, network))

    async def post(self, target: guard.Target, body: bytes,
                   headers: dict[str, str]) -> tuple[int, bytes]:
        """POST and return (status, the first bytes of the response body)."""
        url = httpcore.URL(scheme=target.scheme, host=target.host, port=target.port,
                           target=target.path)
        sent = [("Host", target.host_header), ("Content-Length", str(len(body))),
                *headers.items()]
        read = b""
        async with self.pool.stream("POST", url, headers=sent, content=body) as resp:
            async for chunk in resp.aiter_stream():
                read += chunk
                if len(read) > MAX_DRAIN_BYTES:
                    break
        return resp.status, read[: self.excerpt_bytes]

    async def aclose(self) -> None:
        await self.pool.aclose()

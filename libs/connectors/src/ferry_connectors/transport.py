"""The providers' HTTP transport: httpx's API (what `ConnectorClient`, hooks and tests speak)
over aiohttp's connections.

A sync asks its provider for one page per request. httpx's own transport (httpcore over anyio
and h11) cost ~0.55 ms of CPU per request on a loopback provider, this one ~0.15 ms: at 100
records per page that was a quarter of the executor's CPU. Only the wire changes: httpx still
builds the request (headers, query, body, timeouts) and reads the response (content decoding,
redirect and cookie policy), and aiohttp's failures are raised as httpx's, so a caller cannot
tell the two transports apart.
"""

from __future__ import annotations

import ssl
from typing import Any

import aiohttp
import httpx
import yarl

# Set by httpx on every request; aiohttp sets them itself from the body it sends.
_BODY_FRAMING = {b"content-length", b"transfer-encoding"}


def _as_httpx(e: Exception, request: httpx.Request) -> httpx.TransportError:
    """aiohttp's failure as the httpx exception httpx's own transport raises for it."""
    what = str(e) or type(e).__name__
    if isinstance(e, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(what, request=request)
    if isinstance(e, TimeoutError):  # aiohttp's read timeouts are TimeoutErrors too
        return httpx.ReadTimeout(what, request=request)
    if isinstance(e, aiohttp.ClientConnectorError):
        return httpx.ConnectError(what, request=request)
    if isinstance(e, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return httpx.RemoteProtocolError(what, request=request)
    if isinstance(e, aiohttp.InvalidURL):
        return httpx.UnsupportedProtocol(what, request=request)
    return httpx.ReadError(what, request=request)


class AiohttpTransport(httpx.AsyncBaseTransport):
    """One pool of keep-alive connections (opened in the running loop at the first request).
    aiohttp's own cookie jar, redirects and decompression are off: httpx does those."""

    def __init__(self, *, max_connections: int = 100, keepalive_seconds: float = 5.0,
                 verify: ssl.SSLContext | bool = True) -> None:
        self.max_connections = max_connections
        self.keepalive_seconds = keepalive_seconds
        self.ssl: ssl.SSLContext | bool = (
            httpx.create_ssl_context() if verify is True else verify)
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self.max_connections, ssl=self.ssl,
                                             keepalive_timeout=self.keepalive_seconds)
            self._session = aiohttp.ClientSession(
                connector=connector, cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False, timeout=aiohttp.ClientTimeout(total=None))
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        timeout = request.extensions.get("timeout") or {}
        return await self.exchange(request.method, str(request.url), request.headers.raw,
                                   body, timeout, request)

    async def exchange(self, method: str, url: str, headers: list[tuple[bytes, bytes]],
                       body: bytes | None, timeout: dict[str, float | None],
                       request: httpx.Request | None = None) -> httpx.Response:
        """One request whose URL httpx encoded (sent as it is: yarl would quote it again)."""
        options: dict[str, Any] = {
            "headers": [(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers
                        if k.lower() not in _BODY_FRAMING],
            "data": body or None, "allow_redirects": False,
            "timeout": aiohttp.ClientTimeout(
                total=None, connect=timeout.get("pool"), sock_connect=timeout.get("connect"),
                sock_read=timeout.get("read")),
        }
        try:
            async with self._open().request(method, yarl.URL(url, encoded=True),
                                            **options) as answer:
                content = await answer.read()
        except (aiohttp.ClientError, TimeoutError) as e:
            raise _as_httpx(e, request or httpx.Request(method, url)) from e
        return httpx.Response(
            answer.status, headers=list(answer.raw_headers), content=content,
            extensions={"http_version": b"HTTP/1.1",
                        "reason_phrase": (answer.reason or "").encode("latin-1")})

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class ProviderHttp(httpx.AsyncClient):
    """httpx's client over `AiohttpTransport`. `send_plain` sends a request its caller built
    whole (an encoded URL, every header, the body) past httpx's client layer: no cookie jar (a
    client shared by every connection must not carry one connection's cookies to another), no
    redirects, auth or hooks (none are set), a quarter of a page's request CPU. With proxies set
    in the environment it goes through httpx's client, which routes to them."""

    def __init__(self, timeout: float, *, max_connections: int = 100) -> None:
        self.wire = AiohttpTransport(max_connections=max_connections)
        super().__init__(timeout=timeout, transport=self.wire)
        self.plain = not self._mounts

    async def send_plain(self, method: str, url: str, headers: httpx.Headers,
                         content: bytes | None) -> httpx.Response:
        if not self.plain:
            return await self.request(method, url, headers=headers, content=content)
        merged = httpx.Headers(self.headers)
        merged.update(headers)
        return await self.wire.exchange(method, url, merged.raw, content, self.timeout.as_dict())


def provider_http(timeout: float, *, max_connections: int = 100) -> ProviderHttp:
    """The client a service calls providers with (for `ConnectorClient`)."""
    return ProviderHttp(timeout, max_connections=max_connections)

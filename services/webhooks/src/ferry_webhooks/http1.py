"""A lean HTTP/1.1 client for webhook POSTs: keep-alive per origin, no redirects, short excerpts.

httpx costs ~2 ms of CPU per request here; deliveries need a fraction of that. Only what a
webhook POST needs: http and https, Content-Length and chunked responses, `Connection: close`.
The caller bounds the whole exchange with a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from urllib.parse import quote, urlsplit

MAX_HEADER_BYTES = 64 * 1024
MAX_DRAIN_BYTES = 64 * 1024  # a longer body is not read to the end: the connection is closed instead

Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class HttpError(Exception):
    """The server answered with something that is not HTTP/1.x."""


class _Stale(Exception):
    pass


class Http1Client:
    def __init__(self, max_idle_per_origin: int = 4, excerpt_bytes: int = 1024) -> None:
        self.max_idle = max_idle_per_origin
        self.excerpt_bytes = excerpt_bytes
        self._idle: dict[tuple[str, str, int], list[Conn]] = {}
        self._ssl = ssl.create_default_context()

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        """POST and return (status, the first bytes of the response body)."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        https = parts.scheme == "https"
        port = parts.port or (443 if https else 80)
        origin = (parts.scheme, host, port)
        target = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~") + (f"?{parts.query}" if parts.query else "")
        host_header = (f"[{host}]" if ":" in host else host) + ("" if port == (443 if https else 80) else f":{port}")
        lines = [f"POST {target} HTTP/1.1", f"Host: {host_header}", f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in headers.items() if "\n" not in v and "\r" not in v]
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", errors="replace") + body
        pool = self._idle.setdefault(origin, [])
        while pool:  # a kept-alive connection may have been closed by the server meanwhile
            conn = pool.pop()
            if conn[0].at_eof() or conn[1].is_closing():
                conn[1].close()
                continue
            try:
                return await self._exchange(origin, conn, request)
            except _Stale:
                continue
        reader, writer = await asyncio.open_connection(
            host, port, ssl=self._ssl if https else None, server_hostname=host if https else None)
        try:
            return await self._exchange(origin, (reader, writer), request, fresh=True)
        except _Stale as exc:
            raise HttpError("connection closed before a response") from exc

    async def _exchange(self, origin: tuple[str, str, int], conn: Conn, request: bytes,
                        fresh: bool = False) -> tuple[int, bytes]:
        reader, writer = conn
        keep = False
        try:
            try:
                writer.write(request)
                await writer.drain()
                status_line = await reader.readline()
            except (ConnectionError, OSError) as exc:
                raise _Stale() from exc
            if not status_line:
                raise _Stale()
            status, keep, excerpt = await self._read_response(reader, status_line)
            return status, excerpt
        finally:
            pool = self._idle.setdefault(origin, [])
            if keep and len(pool) < self.max_idle and not writer.is_closing():
                pool.append(conn)
            else:
                writer.close()

    async def _read_response(self, reader: asyncio.StreamReader, status_line: bytes) -> tuple[int, bool, bytes]:
        try:
            version, code, *_ = status_line.decode("latin-1").split(" ", 2)
            status = int(code)
        except ValueError:
            raise HttpError(f"invalid status line {status_line[:80]!r}") from None
        if not version.startswith("HTTP/1."):
            raise HttpError(f"invalid status line {status_line[:80]!r}")
        headers: dict[str, str] = {}
        size = 0
        while True:
            line = await reader.readline()
            size += len(line)
            if size > MAX_HEADER_BYTES:
                raise HttpError("response headers too large")
            if line in (b"\r\n", b"\n"):
                break
            if not line:
                raise HttpError("connection closed in the response headers")
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        keep = version == "HTTP/1.1" and "close" not in headers.get("connection", "").lower()
        if 100 <= status < 200 and status != 101:
            return await self._read_response(reader, await reader.readline())
        if status in (204, 304):
            return status, keep, b""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body, complete = await self._read_chunked(reader)
            return status, keep and complete, body[: self.excerpt_bytes]
        if "content-length" in headers:
            try:
                length = int(headers["content-length"])
            except ValueError:
                raise HttpError("invalid Content-Length") from None
            if length <= MAX_DRAIN_BYTES:
                body = await reader.readexactly(length) if length else b""
                return status, keep, body[: self.excerpt_bytes]
            return status, False, await reader.read(self.excerpt_bytes)
        # No length: the body runs to the end of the connection; keep the start only.
        return status, False, await reader.read(self.excerpt_bytes)

    async def _read_chunked(self, reader: asyncio.StreamReader) -> tuple[bytes, bool]:
        body = b""
        while len(body) <= MAX_DRAIN_BYTES:
            line = await reader.readline()
            try:
                n = int(line.split(b";")[0].strip() or b"x", 16)
            except ValueError:
                raise HttpError("invalid chunked body") from None
            if n == 0:
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass
                return body, True
            body += await reader.readexactly(n)
            await reader.readline()
        return body, False

    def close(self) -> None:
        for conns in self._idle.values():
            for _, writer in conns:
                with contextlib.suppress(Exception):
                    writer.close()
        self._idle.clear()

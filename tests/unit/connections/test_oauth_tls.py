"""The token endpoint's certificate is verified, with one TLS context made once per process."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
from ferry_connections import oauth
from ferry_connectors.definition.auth import ClientCredentialsAuth
from support.tls import self_signed

AUTH = ClientCredentialsAuth(type="oauth2_client_credentials", token_url="unused")


@asynccontextmanager
async def _token_endpoint() -> AsyncIterator[tuple[str, list[bytes]]]:
    """An HTTPS token endpoint on loopback that would hand out a token to whoever got through."""
    requests: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            requests.append(await reader.readuntil(b"\r\n\r\n"))
            body = b'{"access_token":"at-1","token_type":"bearer"}'
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                         b"content-length: %d\r\n\r\n%s" % (len(body), body))
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=self_signed("127.0.0.1"))
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"https://127.0.0.1:{port}/token", requests
    finally:
        server.close()


async def test_an_unknown_certificate_is_refused_each_time_with_the_shared_context() -> None:
    assert oauth.tls() is oauth.tls()
    assert oauth.tls().verify_mode == ssl.CERT_REQUIRED and oauth.tls().check_hostname
    async with _token_endpoint() as (url, requests):
        client = oauth.Client("app", "secret", url)
        for _ in range(2):  # the context is reused: the second grant is checked as the first
            with pytest.raises(oauth.ProviderUnreachable) as refused:
                await oauth.client_credentials(AUTH, client, scopes=[], now=datetime.now(UTC))
            assert "CERTIFICATE_VERIFY_FAILED" in repr(refused.value.__cause__)
    assert requests == []  # no form (with the client secret) ever reached the endpoint

"""One delivery attempt against scripted servers on loopback: SSRF refusals before any
connection, DNS rebinding, redirects, broken responses, Host and SNI. No broker, no Postgres."""

from __future__ import annotations

import asyncio
import socket
import ssl

import pytest
from ferry_webhooks.delivery import Deliverer
from ferry_webhooks.model import Claimed
from ferry_webhooks.settings import Settings
from support.ssrf import TABLE, LoopbackOnly, StubDNS
from support.tls import self_signed


class Scripted:
    """A server on 127.0.0.1 giving every connection `reply` after reading its request
    (`None`: no answer until the client goes)."""

    def __init__(self, reply: bytes | None = b"HTTP/1.1 204 No Content\r\n\r\n",
                 tls: ssl.SSLContext | None = None, keep_alive: bool = False) -> None:
        self.reply, self.tls, self.keep_alive = reply, tls, keep_alive
        self.requests: list[bytes] = []
        self.connections = 0

    async def __aenter__(self) -> Scripted:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_: object) -> None:
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(next((line.split(b":")[1] for line in head.split(b"\r\n")
                                   if line.lower().startswith(b"content-length:")), b"0"))
                self.requests.append(head + await reader.readexactly(length))
                if self.reply is None:
                    await reader.read()
                    return
                writer.write(self.reply)
                await writer.drain()
                if not self.keep_alive:
                    return
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.close()


def _deliverer(dns: StubDNS, network: LoopbackOnly, loopback: bool = False) -> Deliverer:
    settings = Settings(internal_token="t" * 16, webhooks_allow_loopback_urls=loopback,
                        webhooks_timeout_seconds=1.0, webhooks_retry_schedule_seconds=[1.0])
    return Deliverer(settings, None, dns, network)  # type: ignore[arg-type]


def _message(url: str) -> Claimed:
    return Claimed(id="msg_1", endpoint_id="ep_1", lane="", url=url, tries=0,
                   secret="whsec_" + "A" * 32, previous_secret=None, body='{"id":"msg_1"}')


async def _attempt(url: str, dns: StubDNS | None = None, loopback: bool = False):
    network = LoopbackOnly()
    deliverer = _deliverer(dns or StubDNS(), network, loopback)
    try:
        return await deliverer.attempt(_message(url)), network
    finally:
        await deliverer.client.aclose()


@pytest.mark.parametrize(("url", "why"), TABLE)
async def test_every_url_of_the_ssrf_table_is_a_failed_attempt_made_before_any_connection(url, why):
    outcome, network = await _attempt(url)
    assert outcome.error.startswith("blocked: ") and outcome.response_status is None
    assert outcome.status == "retrying" and outcome.tries == 1
    assert network.connects == []


async def test_a_rebinding_name_never_gets_a_connection_to_its_second_answer():
    async with Scripted() as server:
        dns = StubDNS(answers={"rebind.test": [["93.184.216.34"], ["127.0.0.1"]]})
        network = LoopbackOnly()
        deliverer = _deliverer(dns, network)
        first = await deliverer.attempt(_message(f"http://rebind.test:{server.port}/hook"))
        second = await deliverer.attempt(_message(f"http://rebind.test:{server.port}/hook"))
        await deliverer.client.aclose()
    # One answer per attempt, and the connection went to the address that was checked.
    assert dns.calls == ["rebind.test", "rebind.test"]
    assert network.connects == [("93.184.216.34", server.port)]
    assert "no traffic off loopback" in first.error
    assert second.error.startswith("blocked: ") and "127.0.0.1" in second.error
    assert server.connections == 0


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_redirect_is_not_followed_and_is_a_failed_attempt(status):
    reply = (f"HTTP/1.1 {status} Moved\r\nLocation: http://169.254.169.254/latest\r\n"
             "Content-Length: 0\r\n\r\n").encode()
    async with Scripted(reply) as server:
        outcome, network = await _attempt(f"http://127.0.0.1:{server.port}/hook", loopback=True)
    assert outcome.response_status == status and outcome.status == "retrying"
    assert network.connects == [("127.0.0.1", server.port)] and len(server.requests) == 1


BROKEN = {
    "short body": b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this",
    "over-long headers": b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 200_000 + b"\r\n\r\n",
    "not http": b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
    "no answer before closing": b"",
    "bad chunking": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
}


@pytest.mark.parametrize("reply", BROKEN.values(), ids=BROKEN.keys())
async def test_a_broken_response_is_a_failed_attempt_with_its_error(reply):
    async with Scripted(reply) as server:
        outcome, _ = await _attempt(f"http://127.0.0.1:{server.port}/hook", loopback=True)
    assert outcome.response_status is None and outcome.status == "retrying"
    assert outcome.error and "Error" in outcome.error


async def test_a_silent_endpoint_is_a_failed_attempt_after_the_timeout():
    async with Scripted(None) as server:
        outcome, _ = await _attempt(f"http://127.0.0.1:{server.port}/hook", loopback=True)
    assert outcome.error == "timeout after 1 s" and outcome.status == "retrying"


async def test_a_refused_connection_is_a_failed_attempt():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: the connection is refused
        outcome, _ = await _attempt(f"http://127.0.0.1:{port}/hook", loopback=True)
    assert outcome.error.startswith("ConnectError") and outcome.status == "retrying"


@pytest.mark.parametrize("keep_alive", [True, False])
async def test_a_kept_alive_connection_is_reused_and_one_closed_by_the_server_is_not(keep_alive):
    async with Scripted(keep_alive=keep_alive) as server:
        network = LoopbackOnly()
        deliverer = _deliverer(StubDNS(), network, loopback=True)
        outcomes = []
        for _ in range(3):
            outcomes.append(await deliverer.attempt(_message(f"http://127.0.0.1:{server.port}/")))
            await asyncio.sleep(0.05)  # lets the server's close arrive
        await deliverer.client.aclose()
    assert [o.status for o in outcomes] == ["delivered"] * 3
    assert server.connections == len(network.connects) == (1 if keep_alive else 3)


async def test_a_name_is_sent_as_host_while_the_connection_goes_to_its_checked_address():
    async with Scripted() as server:
        dns = StubDNS({"hooks.test": ["127.0.0.1"]})
        outcome, network = await _attempt(f"http://hooks.test:{server.port}/in?a=1", dns, True)
    assert outcome.status == "delivered" and outcome.response_status == 204
    assert network.connects == [("127.0.0.1", server.port)]
    [request] = server.requests
    assert request.startswith(b"POST /in?a=1 HTTP/1.1\r\n")
    assert f"\r\nHost: hooks.test:{server.port}\r\n".encode() in request
    assert b"\r\nwebhook-signature: v1," in request and request.endswith(b'{"id":"msg_1"}')


async def test_tls_to_a_name_sends_the_name_as_sni_and_checks_the_certificate_for_it():
    seen: list[str | None] = []
    tls = self_signed("hooks.test")
    tls.sni_callback = lambda _sock, name, _ctx: seen.append(name)
    async with Scripted(tls=tls) as server:
        dns = StubDNS({"hooks.test": ["127.0.0.1"]})
        outcome, network = await _attempt(f"https://hooks.test:{server.port}/hook", dns, True)
    assert network.connects == [("127.0.0.1", server.port)] and seen == ["hooks.test"]
    # Not signed by a known authority: refused by the client like any unverified certificate.
    assert "CERTIFICATE_VERIFY_FAILED" in outcome.error and outcome.status == "retrying"

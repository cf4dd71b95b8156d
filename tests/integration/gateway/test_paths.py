"""No public path reaches an internal route: the gateway and the connections service run for real
(real Postgres and broker), requests go as raw HTTP/1.1 bytes (`--path-as-is`: no client
normalises `..`), and every request the gateway sends upstream is counted."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import secrets
from typing import Any

import httpx
import pytest
from ferry_kit.infra import free_port

ADMIN = "admin-token-for-tests-0123456789"
CRAFTED = [
    "..",
    "%2e%2e",
    "%2E%2E",
    ".%2E",
    "..%2F..%2Finternal%2Fproviders",
    "%2F",
    "con_x%2F..%2F..%2Finternal%2Fproviders",
    "%2e%2e%2f%2e%2e%2finternal%2fproviders",
]
VALID = {
    "connection_id": "con_" + "0" * 32,
    "job_id": "job_" + "0" * 32,
    "user_id": "u-1",
    "endpoint_id": "ep_" + "0" * 32,
    "message_id": "msg_" + "0" * 32,
    "data_model": "CONTACTS",
    "record_id": "rec_1",
}


class Platform:
    def __init__(self, port: int, sent: list[str], key: str, connection_id: str) -> None:
        self.port, self.sent, self.key, self.connection_id = port, sent, key, connection_id


@pytest.fixture(scope="module")
async def platform(service_env):
    from ferry_connections.bootstrap import start as start_connections
    from ferry_connections.bootstrap import stop as stop_connections
    from ferry_connections.settings import Settings as ConnectionsSettings
    from ferry_gateway.bootstrap import start, stop
    from ferry_gateway.settings import Settings

    port, connections_port = free_port(), free_port()
    connections = await start_connections(
        ConnectionsSettings(
            connections_port=connections_port,
            public_url=f"http://127.0.0.1:{port}",
            token_keys="t1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
            token_active_key_id="t1",
        )
    )
    # The other services are not needed: any request meant for them is counted before it fails.
    nowhere = {
        f"{name}_url": f"http://127.0.0.1:{free_port()}"
        for name in ("scheduler", "executor", "records", "webhooks")
    }
    gateway = await start(
        Settings(
            admin_token=ADMIN,
            gateway_port=port,
            public_host=f"127.0.0.1:{port}",
            connections_url=f"http://127.0.0.1:{connections_port}",
            **nowhere,
        )
    )
    sent: list[str] = []

    async def count(request: httpx.Request) -> None:
        sent.append(f"{request.method} {request.url.raw_path.decode()}")

    up = gateway.upstreams
    for client in (up.connections, up.scheduler, up.executor, up.records, up.webhooks):
        client.event_hooks = {"request": [count], "response": []}
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            project = (
                await http.post(
                    "/v1/projects",
                    json={"name": "paths"},
                    headers={"authorization": f"Bearer {ADMIN}"},
                )
            ).json()
            created = await http.post(
                "/v1/users/u-1/connections",
                headers={"authorization": f"Bearer {project['secret_key']}"},
                json={"provider_name": "sandbox_noauth", "requested_data_types": ["CONTACTS"]},
            )
            assert created.status_code == 201, created.text
        yield Platform(port, sent, project["secret_key"], created.json()["id"])
    finally:
        await stop(gateway)
        await stop_connections(connections)


async def raw(port: int, method: str, target: str, key: str | None = None) -> tuple[int, Any]:
    """One HTTP/1.1 request with its target sent byte for byte."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    body = b"{}" if method in ("POST", "PUT", "PATCH") else b""
    head = [
        f"{method} {target} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Connection: close",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
    ]
    if key:
        head.append(f"Authorization: Bearer {key}")
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
    await writer.drain()
    response = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    status_line, _, rest = response.partition(b"\r\n")
    payload = rest.partition(b"\r\n\r\n")[2]
    return int(status_line.split()[1]), json.loads(payload) if payload else None


def _assert_refused(status: int, body: Any, target: str) -> None:
    assert status in (404, 405, 422), (target, status, body)
    assert set(body["error"]) == {"code", "message", "details"}, (target, body)


async def test_the_gateway_reaches_upstream_for_a_real_connection(platform):
    before = len(platform.sent)
    status, body = await raw(
        platform.port, "GET", f"/v1/connections/{platform.connection_id}", platform.key
    )
    assert status == 200 and body["id"] == platform.connection_id
    assert len(platform.sent) > before  # the counter sees what the gateway sends


@pytest.mark.parametrize(
    "template",
    [
        "/connect/../internal/connections/{cid}/credentials",
        "/connect/%2e%2e/internal/connections/{cid}/credentials",
        "/connect/%2E%2E/internal/connections/{cid}/credentials",
        "/connect/..%2Finternal%2Fconnections%2F{cid}%2Fcredentials",
        "/connect/%2e%2e%2finternal%2fconnections%2f{cid}%2fcredentials",
        "/connect/{cid}/../../internal/connections/{cid}/credentials",
        "/connect/{cid}/%2e%2e/%2e%2e/internal/providers",
        "/oauth/callback/../../internal/providers",
        "/oauth/../internal/connections/{cid}/credentials",
        "/internal/connections/{cid}/credentials",
        "/v1/../internal/connections/{cid}/credentials",
        "/v1/connections/../../internal/connections/{cid}/credentials",
        "/v1/connections/%2e%2e%2f%2e%2e%2finternal%2fconnections%2f{cid}%2fcredentials",
    ],
)
async def test_the_connect_trick_and_its_variants_never_reach_an_internal_route(platform, template):
    target = template.format(cid=platform.connection_id)
    for method in ("GET", "POST"):
        for key in (None, platform.key):
            before = len(platform.sent)
            status, body = await raw(platform.port, method, target, key)
            _assert_refused(status, body, target)
            assert platform.sent[before:] == [], target


async def test_a_crafted_id_in_every_proxied_route_never_reaches_an_upstream(platform):
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{platform.port}") as http:
        paths = (await http.get("/openapi.json")).json()["paths"]
    routes = [(m.upper(), p) for p, ops in paths.items() for m in ops if "{" in p]
    assert len(routes) > 15  # connections, syncs, records and webhooks routes
    before = len(platform.sent)
    for method, template in routes:
        for param in re.findall(r"\{(\w+)\}", template):
            for crafted in CRAFTED:
                target = template.replace(f"{{{param}}}", crafted).format(**VALID)
                status, body = await raw(platform.port, method, target, platform.key)
                _assert_refused(status, body, target)
    assert platform.sent[before:] == []

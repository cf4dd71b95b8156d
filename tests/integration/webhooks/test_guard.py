"""With loopback not allowed: the SSRF table refused at creation (422) and at delivery, and an
endpoint that keeps being refused is disabled. Names come from a stub resolver."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import pytest_asyncio

sys.path.insert(0, str(Path(__file__).parent))
from ferry_contracts.topics import SYNC_COMPLETED  # noqa: E402
from ferry_kit.infra import free_port  # noqa: E402
from support.kafka import publish  # noqa: E402
from support.ssrf import TABLE, LoopbackOnly, StubDNS  # noqa: E402
from webhooks_helpers import Sink, api, sync_completed, until  # noqa: E402


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def svc(service_env):
    from ferry_webhooks.bootstrap import start, stop
    from ferry_webhooks.settings import Settings

    port = free_port()
    network = LoopbackOnly()
    # 0.0003 h ≈ 1 s of continuous failure disables an endpoint here.
    service = await start(Settings(webhooks_port=port, webhooks_allow_loopback_urls=False,
                                   webhooks_retry_schedule_seconds=[0.3] * 20,
                                   webhooks_disable_after_hours=0.0003,
                                   connections_url=f"http://127.0.0.1:{free_port()}"),
                          StubDNS(), network)
    sink = await Sink().start()
    client = api(port, service_env["FERRY_INTERNAL_TOKEN"])
    try:
        yield client, sink, network
    finally:
        await client.aclose()
        await sink.stop()
        await stop(service)


@pytest.mark.parametrize(("url", "why"), TABLE)
async def test_every_url_of_the_ssrf_table_is_refused_at_creation_with_a_422_naming_the_url(
        svc, url, why, unique):
    client, _, _ = svc
    resp = await client.post(f"/internal/projects/prj_ssrf_{unique}/webhook-endpoints",
                             json={"url": url})
    assert resp.status_code == 422
    error = resp.json()["error"]
    assert error["code"] == "validation_error"
    [detail] = error["details"]
    assert detail["field"] == "url" and detail["message"].startswith("URL refused: ")


async def test_ssrf_table_rows_written_directly_are_refused_at_delivery_without_a_connection(
        svc, infra, unique, pg):
    client, _, network = svc
    pid, cid = f"prj_table_{unique}", f"con_table_{unique}"
    # As if created while allowed, or the name now resolves elsewhere: the API would refuse them.
    insert = "INSERT INTO webhooks.endpoints (id, project_id, url, secret) VALUES ($1, $2, $3, $4)"
    for i, (url, _) in enumerate(TABLE):
        await pg.execute(insert, f"ep_{unique}_{i}", pid, url, "whsec_" + "A" * 32)
    await publish(infra.bootstrap, SYNC_COMPLETED, [sync_completed(pid, cid)])

    async def attempted():
        resp = await client.get(f"/internal/projects/{pid}/webhook-messages", params={"limit": 200})
        data = resp.json()["data"]
        return data if len(data) == len(TABLE) and all(m["attempts"] for m in data) else None
    messages = await until(attempted, what="an attempt at every endpoint")
    for m in messages:
        # Never delivered; which of pending/retrying/failed it is at this instant depends on the
        # retry schedule and on the endpoint being disabled meanwhile.
        assert m["status"] != "delivered"
        assert all(a["error"].startswith("blocked: ") and a["response_status"] is None
                   for a in m["attempts"])
    assert network.connects == []


async def test_a_loopback_endpoint_is_never_called_and_is_disabled_when_it_keeps_failing(
        svc, infra, unique, pg):
    client, sink, _ = svc
    pid, cid, name = f"prj_block_{unique}", f"con_block_{unique}", f"block-{unique}"
    await pg.execute(
        "INSERT INTO webhooks.endpoints (id, project_id, url, secret) VALUES ($1, $2, $3, $4)",
        f"ep_{unique}", pid, f"http://hooks.test:{sink.port}/{name}", "whsec_" + "A" * 32,
    )
    await publish(infra.bootstrap, SYNC_COMPLETED, [sync_completed(pid, cid)])

    async def disabled():
        ep = (await client.get(f"/internal/projects/{pid}/webhook-endpoints/ep_{unique}")).json()
        return ep if not ep["enabled"] else None
    ep = await until(disabled, what="endpoint disabled")
    assert "without a success" in ep["disabled_reason"] and ep["disabled_at"]
    assert sink.of(name) == []  # never called
    [msg] = (await client.get(f"/internal/projects/{pid}/webhook-messages")).json()["data"]
    assert msg["attempts"] and all("resolves to 127.0.0.1, a loopback address" in a["error"]
                                   for a in msg["attempts"])

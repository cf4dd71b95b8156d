"""With private URLs not allowed: refusals at creation (422) and at delivery, and disabling."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import pytest_asyncio

sys.path.insert(0, str(Path(__file__).parent))
from ferry_contracts.topics import SYNC_COMPLETED  # noqa: E402
from ferry_kit.infra import free_port  # noqa: E402
from support.kafka import publish  # noqa: E402
from webhooks_helpers import Sink, api, sync_completed, until  # noqa: E402


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def svc(service_env):
    from ferry_webhooks.app import start, stop
    from ferry_webhooks.settings import Settings

    port = free_port()
    # 0.0003 h ≈ 1 s of continuous failure disables an endpoint here.
    service = await start(Settings(webhooks_port=port, webhooks_allow_private_urls=False,
                                   webhooks_retry_schedule_seconds=[0.3] * 20, webhooks_disable_after_hours=0.0003,
                                   connections_url=f"http://127.0.0.1:{free_port()}"))
    sink = await Sink().start()
    client = api(port, service_env["FERRY_INTERNAL_TOKEN"])
    try:
        yield client, sink
    finally:
        await client.aclose()
        await sink.stop()
        await stop(service)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/hook", "http://10.0.0.1/hook", "http://169.254.169.254/latest/meta-data",
    "http://localhost:8080/hook", "http://[::1]/hook", "https://[fd00:ec2::254]/", "http://0.0.0.0/",
    "file:///etc/passwd", "gopher://example.com/", "http:///nohost",
])
async def test_a_url_that_is_not_public_http_is_refused_with_a_clear_422(svc, url, unique):
    client, _ = svc
    resp = await client.post(f"/internal/projects/prj_ssrf_{unique}/webhook-endpoints", json={"url": url})
    assert resp.status_code == 422
    error = resp.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"][0]["field"] == "url" and error["details"][0]["message"]


async def test_an_endpoint_turned_private_after_creation_is_blocked_at_delivery_and_disabled_when_it_keeps_failing(
        svc, infra, unique, pg):
    client, sink = svc
    pid, cid, name = f"prj_block_{unique}", f"con_block_{unique}", f"block-{unique}"
    # As if its DNS name now resolved to loopback: the row is written directly, the API would refuse it.
    await pg.execute(
        "INSERT INTO webhooks.endpoints (id, project_id, url, secret) VALUES ($1, $2, $3, $4)",
        f"ep_{unique}", pid, sink.url(name), "whsec_" + "A" * 32,
    )
    await publish(infra.bootstrap, SYNC_COMPLETED, [sync_completed(pid, cid)])

    async def disabled():
        return (await client.get(f"/internal/projects/{pid}/webhook-endpoints/ep_{unique}")).json()
    ep = await until(lambda: _when_disabled(disabled), what="endpoint disabled")
    assert "without a success" in ep["disabled_reason"] and ep["disabled_at"]
    assert sink.of(name) == []  # never called
    [msg] = (await client.get(f"/internal/projects/{pid}/webhook-messages")).json()["data"]
    assert msg["attempts"] and all(a["error"].startswith("blocked: ") for a in msg["attempts"])
    assert all(a["response_status"] is None for a in msg["attempts"])


async def _when_disabled(fetch):
    ep = await fetch()
    return ep if not ep["enabled"] else None

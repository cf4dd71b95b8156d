"""The webhooks service as a real process, SIGKILLed mid-delivery and restarted: no message lost."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from ferry_contracts.topics import RECORD_CHANGED  # noqa: E402
from ferry_kit.infra import free_port  # noqa: E402
from support.kafka import publish  # noqa: E402
from support.procs import ServiceProcess  # noqa: E402
from webhooks_helpers import Sink, api, record_changed, until  # noqa: E402


async def test_a_service_killed_mid_delivery_and_restarted_delivers_every_message(
    infra, service_env, unique, pg
):
    port = free_port()
    env = infra.env(
        FERRY_WEBHOOKS_PORT=str(port),
        FERRY_WEBHOOKS_ALLOW_LOOPBACK_URLS="true",
        FERRY_WEBHOOKS_RETRY_SCHEDULE_SECONDS="[0.2,0.2,0.2]",
        FERRY_WEBHOOKS_TIMEOUT_SECONDS="2",
        FERRY_WEBHOOKS_LEASE_SECONDS="3",
        FERRY_CONNECTIONS_URL=f"http://127.0.0.1:{free_port()}",
    )
    sink = await Sink().start()
    name, pid, cid = f"crash-{unique}", f"prj_crash_{unique}", f"con_crash_{unique}"
    sink.behaviour[name] = {"delay": 0.3}
    proc = ServiceProcess("ferry_webhooks", env).start()
    client = api(port, env["FERRY_INTERNAL_TOKEN"])
    try:
        await asyncio.to_thread(proc.wait_http, f"http://127.0.0.1:{port}/healthz")
        resp = await client.post(
            f"/internal/projects/{pid}/webhook-endpoints", json={"url": sink.url(name)}
        )
        assert resp.status_code == 201
        events = [record_changed(pid, cid, i) for i in range(30)]
        await publish(infra.bootstrap, RECORD_CHANGED, events)
        await until(lambda: len(sink.of(name)) >= 5, what="deliveries under way")
        proc.kill()  # one request is in flight: its message stays leased in Postgres
        before = len(sink.of(name))
        assert before < 30

        proc = ServiceProcess("ferry_webhooks", env).start()
        await asyncio.to_thread(proc.wait_http, f"http://127.0.0.1:{port}/healthz")
        delivered = lambda: {h.payload["data"]["record_id"] for h in sink.delivered(name)}  # noqa: E731
        await until(
            lambda: len(delivered()) == 30, timeout=45, what="all 30 delivered after restart"
        )
        assert delivered() == {e.data.record_id for e in events}
        # in order per connection, as the endpoint is ordered
        firsts = list(dict.fromkeys(h.payload["data"]["record_id"] for h in sink.delivered(name)))
        assert firsts == [e.data.record_id for e in events]

        # The receiver has the 30th request a moment before the service records its answer.
        async def all_recorded_delivered() -> bool:
            rows = await pg.fetch(
                "SELECT status, count(*) FROM webhooks.messages WHERE project_id=$1 GROUP BY 1", pid
            )
            return {r["status"]: r["count"] for r in rows} == {"delivered": 30}

        await until(all_recorded_delivered, timeout=10, what="30 recorded delivered")
    finally:
        await client.aclose()
        proc.kill()
        await sink.stop()

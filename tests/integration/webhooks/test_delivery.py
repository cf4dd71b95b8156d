"""The webhooks service against the real broker and Postgres, delivering to a real local
receiver.
"""

from __future__ import annotations

import sys
from pathlib import Path

import asyncpg
import pytest_asyncio

sys.path.insert(0, str(Path(__file__).parent))
from ferry_contracts.topics import CONNECTION_CHANGED, RECORD_CHANGED, SYNC_COMPLETED
from ferry_kit.infra import free_port
from standardwebhooks.webhooks import Webhook
from support.kafka import publish
from support.ssrf import LoopbackOnly, StubDNS
from webhooks_helpers import Sink, api, connection_changed, record_changed, sync_completed, until

from ferry_cli.receiver import WebhookReceiver  # noqa: E402


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def svc(service_env):
    from ferry_webhooks.bootstrap import start, stop
    from ferry_webhooks.settings import Settings

    port = free_port()
    service = await start(
        Settings(
            webhooks_port=port,
            webhooks_allow_loopback_urls=True,
            webhooks_retry_schedule_seconds=[0.2, 0.2],
            webhooks_endpoint_concurrency=2,
            connections_url=f"http://127.0.0.1:{free_port()}",
        ),
        StubDNS(),
        LoopbackOnly(),
    )
    sink = await Sink().start()
    client = api(port, service_env["FERRY_INTERNAL_TOKEN"])
    try:
        yield client, sink
    finally:
        await client.aclose()
        await sink.stop()
        await stop(service)


async def _endpoint(client, pid: str, url: str, **body) -> dict:
    resp = await client.post(
        f"/internal/projects/{pid}/webhook-endpoints", json={"url": url, **body}
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


async def _messages(client, pid: str, **params) -> list[dict]:
    resp = await client.get(
        f"/internal/projects/{pid}/webhook-messages", params={"limit": 200, **params}
    )
    assert resp.status_code == 200, resp.text
    return resp.json()["data"]


async def test_a_sync_completion_arrives_signed_so_the_standard_webhooks_verifier_accepts_it(
    svc, infra, unique
):
    client, _ = svc
    pid, cid = f"prj_sig_{unique}", f"con_sig_{unique}"
    receiver = await WebhookReceiver().start()
    try:
        ep = await _endpoint(client, pid, f"{receiver.url}/webhooks", description="main")
        assert ep["secret"].startswith("whsec_") and ep["enabled"] and ep["event_types"] == []
        receiver.secret = ep["secret"]
        await publish(
            infra.bootstrap,
            CONNECTION_CHANGED,
            [connection_changed(pid, cid, "CONNECTED", "CONNECTING", 1, "u-42")],
        )
        await receiver.wait_for("connection_status_changed", connection_id=cid, timeout=30)
        await publish(
            infra.bootstrap,
            SYNC_COMPLETED,
            [sync_completed(pid, cid), sync_completed(pid, cid, "failed", "job_2", "boom")],
        )
        [done] = await receiver.wait_for("sync_completed", connection_id=cid, timeout=30)
        [failed] = await receiver.wait_for("sync_failed", connection_id=cid, timeout=30)
    finally:
        await receiver.stop()
    assert done.verified and failed.verified
    assert done.id.startswith("msg_") and done.attempt_headers["webhook-id"] == done.id
    assert done.data["user_id"] == "u-42"  # from the connection projection
    assert (
        done.data["counts"]["created"] == 2
        and done.data["job_id"] == "job_1"
        and done.data["held_deletions"] == 0
    )
    assert failed.data["error"] == "boom"
    [status] = receiver.of_type("connection_status_changed")
    assert status.data == {
        "connection_id": cid,
        "user_id": "u-42",
        "provider_name": "sandbox",
        "status": "CONNECTED",
        "previous_status": "CONNECTING",
    }


async def test_with_loopback_allowed_a_named_endpoint_gets_its_name_as_host_and_a_valid_signature(
    svc, infra, unique
):
    client, sink = svc
    pid, cid, name = f"prj_host_{unique}", f"con_host_{unique}", f"host-{unique}"
    ep = await _endpoint(client, pid, f"http://hooks.test:{sink.port}/{name}")
    await publish(infra.bootstrap, SYNC_COMPLETED, [sync_completed(pid, cid)])
    [hit] = await until(lambda: sink.delivered(name), what="delivery to hooks.test")
    assert hit.host == f"hooks.test:{sink.port}"
    Webhook(ep["secret"]).verify(hit.body, hit.headers)


async def test_receiver_failing_twice_then_succeeding_sees_three_attempts_with_the_same_webhook_id(
    svc, infra, unique
):
    client, sink = svc
    pid, cid, name = f"prj_retry_{unique}", f"con_retry_{unique}", f"retry-{unique}"
    sink.behaviour[name] = {"fail_first": 2}
    ep = await _endpoint(client, pid, sink.url(name))
    await publish(infra.bootstrap, SYNC_COMPLETED, [sync_completed(pid, cid)])
    await until(lambda: sink.delivered(name), what="delivery after two failures")
    hits = sink.of(name)
    assert [h.status for h in hits] == [500, 500, 204]
    assert len({h.id for h in hits}) == 1
    for h in hits:
        Webhook(ep["secret"]).verify(h.body, h.headers)
    assert (
        hits[0].payload["data"]["user_id"] is None
    )  # no projection and the connections service is away
    [msg] = await until(lambda: _delivered(client, pid), what="message marked delivered")
    assert msg["id"] == hits[0].id and msg["endpoint_id"] == ep["id"]
    assert [a["response_status"] for a in msg["attempts"]] == [500, 500, 204]
    assert all(a["latency_ms"] >= 0 and a["attempted_at"] for a in msg["attempts"])


async def _delivered(client, pid: str) -> list[dict]:
    return await _messages(client, pid, status="delivered")


async def test_a_message_whose_schedule_runs_out_fails_and_replays_as_the_same_message(
    svc, infra, unique
):
    client, sink = svc
    pid, cid, name = f"prj_replay_{unique}", f"con_replay_{unique}", f"replay-{unique}"
    sink.behaviour[name] = {"status": 503}
    ep = await _endpoint(client, pid, sink.url(name))
    await publish(infra.bootstrap, SYNC_COMPLETED, [sync_completed(pid, cid)])
    [failed] = await until(lambda: _messages(client, pid, status="failed"), what="message failed")
    assert len(failed["attempts"]) == 3 and failed["attempts"][-1]["response_status"] == 503

    sink.behaviour[name] = {}
    resp = await client.post(f"/internal/projects/{pid}/webhook-messages/{failed['id']}/replay")
    assert resp.status_code == 202
    await until(lambda: sink.delivered(name), what="replayed delivery")
    assert sink.delivered(name)[0].id == failed["id"]

    sink.behaviour[name] = {"status": 500}
    await publish(infra.bootstrap, SYNC_COMPLETED, [sync_completed(pid, cid, job="job_9")])
    await until(lambda: _messages(client, pid, status="failed"), what="second message failed")
    sink.behaviour[name] = {}
    resp = await client.post(
        f"/internal/projects/{pid}/webhook-endpoints/{ep['id']}/replay-failed",
        json={"since": "2020-01-01T00:00:00Z"},
    )
    assert resp.json() == {"replayed": 1}
    await until(lambda: len(sink.delivered(name)) == 2, what="replay-failed delivery")
    assert len({h.id for h in sink.delivered(name)}) == 2


async def test_messages_of_one_connection_arrive_in_order_even_when_some_attempts_fail(
    svc, infra, unique
):
    client, sink = svc
    pid, name = f"prj_order_{unique}", f"order-{unique}"
    sink.behaviour[name] = {"fail_first_of_some": True}
    await _endpoint(client, pid, sink.url(name), event_types=["record_created"])
    cids = [f"con_o1_{unique}", f"con_o2_{unique}"]
    events = [record_changed(pid, cids[i % 2], i) for i in range(40)]
    await publish(infra.bootstrap, RECORD_CHANGED, events)
    await until(lambda: len(sink.delivered(name)) == 40, what="40 ordered deliveries")
    for cid in cids:
        attempts = [
            h.payload["data"]["record_id"]
            for h in sink.of(name)
            if h.payload["data"]["connection_id"] == cid
        ]
        delivered = [
            h.payload["data"]["record_id"]
            for h in sink.delivered(name)
            if h.payload["data"]["connection_id"] == cid
        ]
        expected = [e.data.record_id for e in events if e.connection_id == cid]
        assert delivered == expected
        # no message was even tried before the previous one of its connection was delivered
        assert list(dict.fromkeys(attempts)) == expected
    assert len(sink.of(name)) > 40  # some first attempts failed and were retried


async def test_a_slow_endpoint_does_not_hold_back_another_endpoints_deliveries(svc, infra, unique):
    client, sink = svc
    pid, cid = f"prj_slow_{unique}", f"con_slow_{unique}"
    slow, fast = f"slow-{unique}", f"fast-{unique}"
    sink.behaviour[slow] = {"delay": 2.0}
    await _endpoint(client, pid, sink.url(slow), ordered=False)
    await _endpoint(client, pid, sink.url(fast), ordered=False)
    await publish(infra.bootstrap, RECORD_CHANGED, [record_changed(pid, cid, i) for i in range(20)])
    await until(lambda: len(sink.delivered(fast)) == 20, what="fast endpoint served")
    # meanwhile the slow one, limited to 2 concurrent requests, is still working through its queue
    assert len(sink.delivered(slow)) < 20
    await until(
        lambda: len(sink.delivered(slow)) == 20, timeout=40, what="slow endpoint served in the end"
    )


async def test_record_events_follow_the_event_type_filter_and_carry_their_fields(
    svc, infra, unique
):
    client, sink = svc
    pid, cid, name = f"prj_filter_{unique}", f"con_filter_{unique}", f"filter-{unique}"
    await _endpoint(
        client, pid, sink.url(name), event_types=["record_updated", "record_deleted"], ordered=False
    )
    await publish(
        infra.bootstrap,
        RECORD_CHANGED,
        [
            record_changed(pid, cid, 1, "created"),
            record_changed(pid, cid, 2, "updated"),
            record_changed(pid, cid, 3, "deleted"),
        ],
    )
    await until(lambda: len(sink.delivered(name)) == 2, what="updated and deleted")
    by_type = {h.payload["type"]: h.payload for h in sink.delivered(name)}
    assert set(by_type) == {"record_updated", "record_deleted"}
    upd = by_type["record_updated"]
    assert (
        upd["project_id"] == pid
        and upd["id"].startswith("msg_")
        and upd["created_at"].endswith("Z")
    )
    assert upd["data"]["data"] == {"n": 2} and upd["data"]["changed_fields"] == {
        "n": {"old": 1, "new": 2}
    }
    assert upd["data"]["cursor"] == "c00000002" and upd["data"]["record_id"] == "r2"
    assert "data" not in by_type["record_deleted"]["data"]
    assert len(await _messages(client, pid, event_type="record_updated")) == 1


async def test_a_rotated_secret_signs_alongside_the_previous_one(svc, infra, unique):
    client, sink = svc
    pid, cid, name = f"prj_rot_{unique}", f"con_rot_{unique}", f"rot-{unique}"
    ep = await _endpoint(client, pid, sink.url(name))
    resp = await client.post(f"/internal/projects/{pid}/webhook-endpoints/{ep['id']}/rotate-secret")
    assert resp.status_code == 200
    rotated = resp.json()
    assert (
        rotated["id"] == ep["id"]
        and rotated["secret"].startswith("whsec_")
        and rotated["secret"] != ep["secret"]
    )
    await publish(infra.bootstrap, SYNC_COMPLETED, [sync_completed(pid, cid)])
    [hit] = await until(lambda: sink.delivered(name), what="delivery after rotation")
    assert len(hit.headers["webhook-signature"].split(" ")) == 2
    Webhook(ep["secret"]).verify(hit.body, hit.headers)
    Webhook(rotated["secret"]).verify(hit.body, hit.headers)


async def test_a_status_change_is_announced_once_and_a_deleted_connection_is_forgotten(
    svc, infra, unique, pg
):
    client, sink = svc
    pid, cid, name = f"prj_status_{unique}", f"con_status_{unique}", f"status-{unique}"
    await _endpoint(client, pid, sink.url(name), event_types=["connection_status_changed"])
    await publish(
        infra.bootstrap,
        CONNECTION_CHANGED,
        [
            connection_changed(pid, cid, "AUTH_REQUIRED", None, 1),
            connection_changed(pid, cid, "CONNECTED", "AUTH_REQUIRED", 2),
            connection_changed(
                pid, cid, "CONNECTED", "CONNECTED", 3
            ),  # a config change: no status change
            connection_changed(pid, cid, "AUTH_ERROR", "CONNECTED", 4),
        ],
    )
    await until(lambda: len(sink.delivered(name)) == 3, what="three status changes")
    assert [
        (h.payload["data"]["previous_status"], h.payload["data"]["status"])
        for h in sink.delivered(name)
    ] == [(None, "AUTH_REQUIRED"), ("AUTH_REQUIRED", "CONNECTED"), ("CONNECTED", "AUTH_ERROR")]
    await publish(
        infra.bootstrap,
        CONNECTION_CHANGED,
        [connection_changed(pid, cid, "DELETED", "AUTH_ERROR", 5)],
    )
    await until(lambda: _gone(pg, cid), what="projection dropped")
    assert len(sink.of(name)) == 3


async def _gone(pg, cid: str) -> bool:
    return (
        await pg.fetchval("SELECT count(*) FROM webhooks.connections WHERE connection_id=$1", cid)
        == 0
    )


async def test_the_api_answers_bad_input_and_foreign_ids_with_error_bodies(svc, unique):
    client, sink = svc
    pid = f"prj_api_{unique}"
    resp = await client.post(
        f"/internal/projects/{pid}/webhook-endpoints",
        json={"url": sink.url("x"), "event_types": ["sync_completed", "nope"]},
    )
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "validation_error"
    assert resp.json()["error"]["details"][0]["field"] == "event_types[1]"
    resp = await client.post(
        f"/internal/projects/{pid}/webhook-endpoints", json={"url": "ftp://example.com/x"}
    )
    assert resp.status_code == 422 and resp.json()["error"]["details"][0]["field"] == "url"
    resp = await client.post(
        f"/internal/projects/{pid}/webhook-endpoints", json={"event_types": "x"}
    )
    assert resp.status_code == 422 and {d["field"] for d in resp.json()["error"]["details"]} >= {
        "url"
    }
    ep = await _endpoint(client, pid, sink.url("x"))
    listed = (await client.get(f"/internal/projects/{pid}/webhook-endpoints")).json()["data"]
    assert [e["id"] for e in listed] == [ep["id"]] and "secret" not in listed[0]
    other = f"prj_other_{unique}"
    for method, path in [
        ("GET", f"webhook-endpoints/{ep['id']}"),
        ("DELETE", f"webhook-endpoints/{ep['id']}"),
        ("POST", f"webhook-endpoints/{ep['id']}/rotate-secret"),
        ("POST", "webhook-messages/msg_nope/replay"),
    ]:
        resp = await client.request(method, f"/internal/projects/{other}/{path}")
        assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found", (
            method,
            path,
        )
    for params in [
        {"limit": 0},
        {"limit": "x"},
        {"cursor": "!!"},
        {"status": "weird"},
        {"event_type": "weird"},
    ]:
        resp = await client.get(f"/internal/projects/{pid}/webhook-messages", params=params)
        assert resp.status_code == 422 and resp.json()["error"]["code"] == "validation_error", (
            params
        )
    resp = await client.get(
        f"/internal/projects/{pid}/webhook-endpoints", headers={"x-ferry-internal-token": "wrong"}
    )
    assert resp.status_code == 401 and "error" in resp.json()
    assert (
        await client.delete(f"/internal/projects/{pid}/webhook-endpoints/{ep['id']}")
    ).status_code == 204
    assert (
        await client.get(f"/internal/projects/{pid}/webhook-endpoints/{ep['id']}")
    ).status_code == 404


async def test_messages_page_through_with_a_cursor(svc, infra, unique):
    client, sink = svc
    pid, cid, name = f"prj_page_{unique}", f"con_page_{unique}", f"page-{unique}"
    await _endpoint(client, pid, sink.url(name), ordered=False)
    await publish(infra.bootstrap, RECORD_CHANGED, [record_changed(pid, cid, i) for i in range(25)])
    await until(lambda: len(sink.delivered(name)) == 25, what="25 deliveries")
    seen, cursor = [], None
    while True:
        params = {"limit": 10, **({"cursor": cursor} if cursor else {})}
        body = (
            await client.get(f"/internal/projects/{pid}/webhook-messages", params=params)
        ).json()
        seen += [m["id"] for m in body["data"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 25


async def _delivered_marker(client, infra, sink, cid: str, unique: str, tag: str) -> None:
    """One record event of another project with an endpoint, on `cid`'s partition, delivered:
    everything published on that partition before it has been consumed."""
    pid, name = f"prj_mark_{tag}_{unique}", f"mark-{tag}-{unique}"
    await _endpoint(client, pid, sink.url(name))
    await publish(infra.bootstrap, RECORD_CHANGED, [record_changed(pid, cid, 0)])
    await until(lambda: len(sink.delivered(name)) == 1, what="the marker delivered")


async def _inbox_rows(infra, events) -> int:
    conn = await asyncpg.connect(infra.dsn)
    try:
        return await conn.fetchval(
            "SELECT count(*) FROM webhooks.inbox WHERE event_id = ANY($1::uuid[])",
            [e.id for e in events],
        )
    finally:
        await conn.close()


async def test_record_events_of_a_project_without_a_record_endpoint_cost_no_message_nor_inbox_row(
    svc, infra, unique
):
    client, sink = svc
    pid, cid = f"prj_quiet_{unique}", f"con_quiet_{unique}"
    await _endpoint(client, pid, sink.url(f"quiet-{unique}"), event_types=["sync_completed"])
    events = [record_changed(pid, cid, i, "updated") for i in range(30)]
    await publish(infra.bootstrap, RECORD_CHANGED, events)
    await _delivered_marker(client, infra, sink, cid, unique, "quiet")
    assert await _messages(client, pid) == [] and sink.of(f"quiet-{unique}") == []
    assert await _inbox_rows(infra, events) == 0


async def test_record_events_redelivered_go_once_per_webhook_id_in_lane_order_among_others(
    svc, infra, unique
):
    client, sink = svc
    pid, name = f"prj_redo_{unique}", f"redo-{unique}"
    await _endpoint(client, pid, sink.url(name), event_types=["record_updated"])
    cids = [f"con_r1_{unique}", f"con_r2_{unique}"]
    ours, others = [], []
    for i in range(40):  # a project without endpoints on the same partitions, between ours
        ours.append(record_changed(pid, cids[i % 2], i, "updated"))
        others.append(record_changed(f"prj_none_{unique}", cids[i % 2], i, "updated"))
    mixed = [e for pair in zip(others, ours, strict=True) for e in pair]
    await publish(infra.bootstrap, RECORD_CHANGED, mixed[:50])
    await publish(infra.bootstrap, RECORD_CHANGED, mixed)  # the first 50 come again
    for cid in cids:
        await _delivered_marker(client, infra, sink, cid, unique, cid)
    await until(lambda: len(sink.delivered(name)) >= 40, what="40 deliveries")
    hits = sink.delivered(name)
    assert len(hits) == 40 and len({h.id for h in hits}) == 40
    for cid in cids:
        got = [h.payload["data"]["record_id"] for h in hits
               if h.payload["data"]["connection_id"] == cid]
        assert got == [e.data.record_id for e in ours if e.connection_id == cid]
    assert await _inbox_rows(infra, ours) == 40 and await _inbox_rows(infra, others) == 0


async def test_a_record_event_skipped_while_its_project_had_no_endpoint_goes_if_it_comes_again(
    svc, infra, unique
):
    """Skipped events leave no trace: one redelivered after its project got an endpoint is
    handled as if it first arrived then (docs/SERVICES.md, webhooks)."""
    client, sink = svc
    pid, cid, name = f"prj_late_{unique}", f"con_late_{unique}", f"late-{unique}"
    event = record_changed(pid, cid, 1, "updated")
    await publish(infra.bootstrap, RECORD_CHANGED, [event])
    await _delivered_marker(client, infra, sink, cid, unique, "late")
    await _endpoint(client, pid, sink.url(name))
    await publish(infra.bootstrap, RECORD_CHANGED, [event, event])
    await until(lambda: len(sink.delivered(name)) == 1, what="the redelivered event")
    await _delivered_marker(client, infra, sink, cid, unique, "late2")
    assert len(sink.of(name)) == 1 and await _inbox_rows(infra, [event]) == 1

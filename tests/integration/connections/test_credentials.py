"""Credentials for the executor: refresh before expiry, one refresh at a time, AUTH_ERROR when
refused.
"""

from __future__ import annotations

import asyncio

import pytest
from ferry_contracts.topics import CONNECTION_CHANGED
from ferry_kit.internal import token_fingerprint
from support.kafka import Collector


async def _expire(pg, harness, cid: str, account: str) -> None:
    """As if the access token's life had run out: at the provider, and in Ferry's record of it."""
    await harness.expire(account)
    await pg.execute(
        "UPDATE connections.tokens SET expires_at = now() - interval '1 minute', "
        "refreshed_at = NULL WHERE connection_id = $1",
        cid,
    )


async def test_a_live_token_is_handed_out_without_calling_the_provider(harness, project):
    conn, account = await harness.connected(project)
    before = (await harness.stats(account))["token_requests"]
    resp = await harness.credentials(conn["id"])
    body = resp.json()
    assert resp.status_code == 200 and set(body) == {
        "access_token",
        "expires_at",
        "base_url",
        "provider_name",
        "headers",
        "params",
        "connection_config",
    }
    assert body["headers"] == {"Authorization": f"Bearer {body['access_token']}"}
    assert body["base_url"] == harness.sandbox_url and body["provider_name"] == "sandbox"
    api = await harness.sandbox.get(
        "/api/contacts", headers={"authorization": f"Bearer {body['access_token']}"}
    )
    assert api.status_code == 200
    assert (await harness.stats(account))["token_requests"] == before


async def test_twenty_concurrent_callers_of_an_expired_token_cause_exactly_one_refresh(
    harness, project, pg
):
    conn, account = await harness.connected(project)
    await _expire(pg, harness, conn["id"], account)
    answers = await asyncio.gather(*(harness.credentials(conn["id"]) for _ in range(20)))
    assert [r.status_code for r in answers] == [200] * 20
    assert len({r.json()["access_token"] for r in answers}) == 1
    assert (await harness.stats(account))["refresh_requests"] == 1
    token = answers[0].json()["access_token"]
    api = await harness.sandbox.get("/api/contacts", headers={"authorization": f"Bearer {token}"})
    assert api.status_code == 200


async def test_twenty_concurrent_forced_refreshes_after_a_401_cause_exactly_one_refresh(
    harness, project
):
    conn, account = await harness.connected(project)
    old = (await harness.credentials(conn["id"])).json()["access_token"]
    await harness.expire(account)
    # The exchange itself counts as a fresh token: step past the reuse window first.
    await asyncio.sleep(harness_reuse_seconds())
    answers = await asyncio.gather(
        *(harness.credentials(conn["id"], refresh=True) for _ in range(20))
    )
    assert [r.status_code for r in answers] == [200] * 20
    tokens = {r.json()["access_token"] for r in answers}
    assert len(tokens) == 1 and old not in tokens
    assert (await harness.stats(account))["refresh_requests"] == 1


async def test_twenty_callers_naming_a_rejected_token_cause_one_refresh_even_right_after_connecting(
    harness, project
):
    conn, account = await harness.connected(project)
    old = (await harness.credentials(conn["id"])).json()["access_token"]
    await harness.expire(account)  # no waiting: naming the refused token overrides the reuse window
    rejected = token_fingerprint(old)
    answers = await asyncio.gather(
        *(harness.credentials(conn["id"], rejected=rejected) for _ in range(20))
    )
    assert [r.status_code for r in answers] == [200] * 20
    tokens = {r.json()["access_token"] for r in answers}
    assert len(tokens) == 1 and old not in tokens
    assert (await harness.stats(account))["refresh_requests"] == 1
    # A token nobody refused is not refreshed again.
    again = await harness.credentials(conn["id"], rejected=token_fingerprint("some other token"))
    assert (
        again.json()["access_token"] in tokens
        and (await harness.stats(account))["refresh_requests"] == 1
    )
    bad = await harness.credentials(conn["id"], rejected="not-a-digest")
    assert bad.status_code == 422 and "rejected_token_sha256" in bad.text


def harness_reuse_seconds() -> float:
    from ferry_connections.settings import Settings

    return Settings.model_fields["token_refresh_reuse_seconds"].default + 0.1


async def test_a_refresh_the_provider_rejects_sets_auth_error_and_emits_the_change(
    harness, project, pg
):
    conn, account = await harness.connected(project)
    await harness.revoke(account)
    await _expire(pg, harness, conn["id"], account)
    async with Collector(
        harness.bootstrap,
        CONNECTION_CHANGED,
        lambda e: e.connection_id == conn["id"] and e.data.status == "AUTH_ERROR",
    ) as events:
        resp = await harness.credentials(conn["id"])
        [event] = await events.wait(1)
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "auth_error"
    assert event.data.previous_status == "CONNECTED" and event.data.disconnected_at is not None
    after = await harness.get(project, conn["id"])
    assert after["status"] == "AUTH_ERROR" and after["disconnected_at"]
    assert (
        await pg.fetchval(
            "SELECT count(*) FROM connections.tokens WHERE connection_id = $1", conn["id"]
        )
        == 0
    )
    again = await harness.credentials(conn["id"])
    assert again.status_code == 409 and (await harness.stats(account))["refresh_requests"] == 1


async def test_reauthorizing_from_auth_error_goes_through_the_same_connect_page(
    harness, project, pg
):
    conn, account = await harness.connected(project)
    await harness.revoke(account)
    await _expire(pg, harness, conn["id"], account)
    assert (await harness.credentials(conn["id"])).status_code == 409
    await harness.connect(conn, account)
    assert (await harness.get(project, conn["id"]))["status"] == "CONNECTED"
    assert (await harness.credentials(conn["id"])).status_code == 200


async def test_credentials_are_refused_unless_the_connection_is_connected(harness, project):
    conn = await harness.create(project)
    resp = await harness.credentials(conn["id"])
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "not_connected"
    assert (await harness.credentials("con_does_not_exist")).status_code == 404


async def test_a_provider_without_authorization_gets_its_static_token_at_once(harness, project):
    conn = await harness.create(project, provider="sandbox_noauth")
    assert conn["status"] == "CONNECTED" and conn["connected_at"]
    body = (await harness.credentials(conn["id"])).json()
    assert body["access_token"] == f"static:{conn['id']}" and body["expires_at"] is None
    api = await harness.sandbox.get(
        "/api/contacts", headers={"authorization": f"Bearer {body['access_token']}"}
    )
    assert api.status_code == 200


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        ("invalid_client", 502, "provider_auth_config"),
        ("unauthorized_client", 502, "provider_auth_config"),
        ("server_error", 503, "provider_unavailable"),
    ],
)
async def test_a_refresh_failing_on_ferrys_client_or_the_provider_leaves_the_connection_as_it_is(
    harness, project, pg, fault, status, code
):
    conn, account = await harness.connected(project)
    await _expire(pg, harness, conn["id"], account)
    await harness.token_error(fault)
    try:
        resp = await harness.credentials(conn["id"])
    finally:
        await harness.token_error("")
    assert resp.status_code == status and resp.json()["error"]["code"] == code, resp.text
    after = await harness.get(project, conn["id"])
    assert after["status"] == "CONNECTED" and after["disconnected_at"] is None
    assert (
        await pg.fetchval("SELECT version FROM connections.connections WHERE id = $1", conn["id"])
        == 3
    )
    # The grant still works once the fault is fixed: the tokens were kept.
    assert (await harness.credentials(conn["id"])).status_code == 200


async def test_only_invalid_grant_from_the_token_endpoint_means_the_end_user_must_reconnect(
    harness, project, pg
):
    conn, account = await harness.connected(project)
    await _expire(pg, harness, conn["id"], account)
    await harness.token_error("invalid_grant")
    try:
        resp = await harness.credentials(conn["id"])
    finally:
        await harness.token_error("")
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "auth_error"
    assert (await harness.get(project, conn["id"]))["status"] == "AUTH_ERROR"

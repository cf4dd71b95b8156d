"""Seed 004 over the internal API: every transition, the edit rule, unique providers, tenancy,
delete.
"""

from __future__ import annotations

import itertools
from urllib.parse import parse_qs, urlsplit

import pytest
from ferry_contracts.topics import CONNECTION_CHANGED
from support.kafka import Collector

STATUSES = ("AUTH_REQUIRED", "CONNECTING", "CONNECTED", "AUTH_ERROR", "DISCONNECTED")
ALLOWED = {
    ("CONNECTED", "DISCONNECTED"),
    ("AUTH_ERROR", "DISCONNECTED"),
    ("DISCONNECTED", "AUTH_REQUIRED"),
    ("AUTH_ERROR", "AUTH_REQUIRED"),
}


async def _in_status(harness, project, pg, status: str) -> dict:
    """A sandbox connection brought to `status` the way it happens in production."""
    conn = await harness.create(project)
    if status == "CONNECTING":
        token = parse_qs(urlsplit(conn["redirect_url"]).query)["t"][0]
        resp = await harness.api.post(
            f"/connect/{conn['id']}", data={"action": "connect", "t": token}
        )
        assert resp.status_code == 303
    elif status != "AUTH_REQUIRED":
        account = await harness.connect(conn)
        if status == "AUTH_ERROR":
            await harness.revoke(account)
            await pg.execute(
                "UPDATE connections.tokens SET expires_at = now(), refreshed_at = NULL "
                "WHERE connection_id = $1",
                conn["id"],
            )
            assert (await harness.credentials(conn["id"])).status_code == 409
        elif status == "DISCONNECTED":
            assert (
                await harness.patch(project, conn["id"], status="DISCONNECTED")
            ).status_code == 200
    got = await harness.get(project, conn["id"])
    assert got["status"] == status
    return got


@pytest.mark.parametrize(
    ("current", "target"), list(itertools.product(STATUSES, ("DISCONNECTED", "AUTH_REQUIRED")))
)
async def test_a_status_change_succeeds_exactly_when_seed_004_allows_it(
    harness, project, pg, current, target
):
    conn = await _in_status(harness, project, pg, current)
    resp = await harness.patch(project, conn["id"], status=target)
    if (current, target) in ALLOWED:
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["status"] == target
        if target == "DISCONNECTED":
            assert body["disconnected_at"]
    else:
        assert resp.status_code == 409, resp.text
        error = resp.json()["error"]
        assert error["code"] == "invalid_transition" and current in error["message"]
        assert (await harness.get(project, conn["id"]))["status"] == current


@pytest.mark.parametrize("current", STATUSES)
async def test_requested_data_types_change_only_while_disconnected_or_in_auth_error(
    harness, project, pg, current
):
    conn = await _in_status(harness, project, pg, current)
    resp = await harness.patch(project, conn["id"], requested_data_types=["files"])
    if current in ("DISCONNECTED", "AUTH_ERROR"):
        assert resp.status_code == 200 and resp.json()["requested_data_types"] == ["FILES"]
    else:
        assert resp.status_code == 409 and current in resp.json()["error"]["message"]


async def test_a_user_gets_one_connection_to_a_unique_provider_and_many_to_others(harness, project):
    await harness.create(project, "same-user", provider="sandbox_noauth")
    second = await harness.create(project, "same-user", provider="sandbox_noauth", expect=409)
    assert second["error"]["code"] == "unique_provider"
    await harness.create(project, "other-user", provider="sandbox_noauth")
    await harness.create(project, "same-user")
    await harness.create(project, "same-user")
    listed = (
        await harness.api.get(f"/internal/projects/{project}/users/same-user/connections")
    ).json()["data"]
    assert sorted(c["provider_name"] for c in listed) == ["sandbox", "sandbox", "sandbox_noauth"]


async def test_another_projects_connection_answers_404_to_every_call(harness, project):
    conn = await harness.create(project)
    other = project + "-other"
    base = f"/internal/projects/{other}/connections/{conn['id']}"
    for resp in (
        await harness.api.get(base),
        await harness.api.patch(base, json={"status": "DISCONNECTED"}),
        await harness.api.delete(base),
    ):
        assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"
    assert (
        await harness.api.get(f"/internal/projects/{other}/users/{conn['user_id']}/connections")
    ).json()["data"] == []
    assert (await harness.get(project, conn["id"]))["status"] == "AUTH_REQUIRED"


async def test_unknown_providers_and_data_types_are_refused_naming_the_field(harness, project):
    bad = await harness.create(project, provider="nope", expect=422)
    assert bad["error"]["details"][0]["field"] == "provider_name"
    bad = await harness.create(project, types=["CONTACTS", "payroll"], expect=422)
    assert bad["error"]["details"][0]["field"] == "requested_data_types[1]"


async def test_deleting_a_connection_emits_deleted_and_removes_it_with_its_tokens(
    harness, project, pg
):
    conn, _ = await harness.connected(project)
    async with Collector(
        harness.bootstrap,
        CONNECTION_CHANGED,
        lambda e: e.connection_id == conn["id"] and e.data.status == "DELETED",
    ) as events:
        resp = await harness.api.delete(f"/internal/projects/{project}/connections/{conn['id']}")
        [event] = await events.wait(1)
    assert resp.status_code == 204
    assert (
        event.data.previous_status == "CONNECTED"
        and event.data.version == 4
        and event.project_id == project
    )
    assert (
        await harness.api.get(f"/internal/projects/{project}/connections/{conn['id']}")
    ).status_code == 404
    assert (
        await pg.fetchval(
            "SELECT count(*) FROM connections.tokens WHERE connection_id = $1", conn["id"]
        )
        == 0
    )
    assert (await harness.credentials(conn["id"])).status_code == 404

"""The gateway's tenants and authentication, against real Postgres."""

from __future__ import annotations

import asyncio
import time

import httpx
import jwt
import pytest
from ferry_gateway.bootstrap import start, stop
from ferry_gateway.settings import Settings
from ferry_kit.infra import free_port

ADMIN = "admin-token-for-tests-0123456789"
HOST = "ferry.test"


@pytest.fixture(scope="module")
def own(infra):
    """A broker and database of this module's own: a gateway replica joins and leaves the
    gateway's consumer group here, and the embedded broker (Tansu) holds a member that left
    while the group was still settling until the rebalance times out (5 minutes), stalling the
    next gateway started on the same broker."""
    isolated = infra.isolated()
    yield isolated
    isolated.stop()


@pytest.fixture(scope="module")
async def gateway(service_env, own):
    port = free_port()
    settings = Settings(
        admin_token=ADMIN,
        gateway_port=port,
        public_host=HOST,
        connections_url=f"http://127.0.0.1:{free_port()}",
        kafka_bootstrap=own.bootstrap,
        database_url=own.dsn,
    )
    service = await start(settings)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        yield client
    await stop(service)


@pytest.fixture(scope="module")
async def project(gateway):
    resp = await gateway.post(
        "/v1/projects", json={"name": "acme"}, headers={"authorization": f"Bearer {ADMIN}"}
    )
    assert resp.status_code == 201
    return resp.json()


def _token(project, sub="user-1", aud=None, exp=None, key=None):
    claims = {
        "sub": sub,
        "aud": aud or f"{HOST}/{project['project_id']}",
        "exp": exp or int(time.time()) + 600,
    }
    return jwt.encode(claims, key or project["signing_key"], algorithm="HS256")


def _auth(token):
    return {"authorization": f"Bearer {token}"}


async def test_creating_a_project_needs_the_admin_token(gateway):
    assert (await gateway.post("/v1/projects", json={"name": "x"})).json()["error"][
        "code"
    ] == "missing_token"
    resp = await gateway.post(
        "/v1/projects", json={"name": "x"}, headers=_auth("not-the-admin-token")
    )
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "invalid_token"


async def test_a_created_project_returns_its_keys(project):
    assert project["project_id"].startswith("proj_")
    assert project["secret_key"].startswith("fsk_") and project["signing_key"]


async def test_a_missing_token_is_refused_with_missing_token(gateway):
    resp = await gateway.get("/v1/sync-config")
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "missing_token"


async def test_an_unknown_secret_key_is_refused(gateway):
    resp = await gateway.get("/v1/sync-config", headers=_auth("fsk_nope"))
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "invalid_token"


async def test_an_end_user_token_with_a_bad_signature_is_invalid(gateway, project):
    resp = await gateway.get(
        "/v1/sync-config", headers=_auth(_token(project, key="wrong-key-wrong-key-wrong-key-00"))
    )
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "invalid_token"


async def test_an_end_user_token_for_another_host_has_an_invalid_audience(gateway, project):
    resp = await gateway.get(
        "/v1/sync-config", headers=_auth(_token(project, aud=f"other.host/{project['project_id']}"))
    )
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "invalid_audience"


async def test_an_expired_end_user_token_is_refused_as_expired(gateway, project):
    resp = await gateway.get(
        "/v1/sync-config", headers=_auth(_token(project, exp=int(time.time()) - 60))
    )
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "token_expired"


async def test_an_end_user_token_without_exp_is_invalid(gateway, project):
    token = jwt.encode(
        {"sub": "u", "aud": f"{HOST}/{project['project_id']}"},
        project["signing_key"],
        algorithm="HS256",
    )
    resp = await gateway.get("/v1/sync-config", headers=_auth(token))
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "invalid_token"


async def test_a_valid_end_user_token_cannot_reach_server_only_calls(gateway, project):
    resp = await gateway.get("/v1/sync-config", headers=_auth(_token(project)))
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "forbidden"


async def test_a_valid_end_user_token_cannot_reach_another_users_connections(gateway, project):
    resp = await gateway.get(
        "/v1/users/user-2/connections", headers=_auth(_token(project, sub="user-1"))
    )
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "forbidden"


async def test_a_token_signed_by_another_project_does_not_open_this_one(gateway, project):
    other = (
        await gateway.post("/v1/projects", json={"name": "other"}, headers=_auth(ADMIN))
    ).json()
    forged = _token(project, aud=f"{HOST}/{project['project_id']}", key=other["signing_key"])
    resp = await gateway.get("/v1/sync-config", headers=_auth(forged))
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "invalid_token"


async def test_bad_input_is_a_422_naming_the_field(gateway, project):
    resp = await gateway.put(
        "/v1/sync-config",
        json={"data_models": [{"data_model": "CONTACTS", "frequency": "SOMETIMES"}]},
        headers=_auth(project["secret_key"]),
    )
    assert resp.status_code == 422
    err = resp.json()["error"]
    assert err["code"] == "validation_error"
    assert err["details"][0]["field"] == "data_models[0].frequency"


async def test_an_unavailable_upstream_is_a_503_not_a_500(gateway, project):
    resp = await gateway.get("/v1/providers", headers=_auth(project["secret_key"]))
    assert resp.status_code == 503 and resp.json()["error"]["code"] == "service_unavailable"


async def test_openapi_is_served_at_docs(gateway):
    assert (await gateway.get("/docs")).status_code == 200
    paths = (await gateway.get("/openapi.json")).json()["paths"]
    assert "/v1/connections/{connection_id}/sync" in paths


def _authenticated(resp: httpx.Response) -> bool:
    """Past authentication: the connections service (no process here) is then unreachable."""
    if resp.status_code == 401:
        return False
    assert resp.status_code == 503, resp.text
    return True


async def test_a_rotated_key_is_refused_at_once_by_the_gateway_that_rotated_it(gateway):
    admin = _auth(ADMIN)
    created = (await gateway.post("/v1/projects", json={"name": "rot"}, headers=admin)).json()
    old = _auth(created["secret_key"])
    assert _authenticated(await gateway.get("/v1/sync-config", headers=old))  # now remembered
    rotated = await gateway.post(f"/v1/projects/{created['project_id']}/rotate-key",
                                 headers=admin)
    assert rotated.status_code == 200
    assert not _authenticated(await gateway.get("/v1/sync-config", headers=old))
    new = _auth(rotated.json()["secret_key"])
    assert _authenticated(await gateway.get("/v1/sync-config", headers=new))


async def test_a_key_rotated_on_another_gateway_is_refused_once_the_cache_time_is_over(
    gateway, service_env, own
):
    port = free_port()
    settings = Settings(admin_token=ADMIN, gateway_port=port, public_host=HOST,
                        connections_url=f"http://127.0.0.1:{free_port()}", key_cache_seconds=0.5,
                        kafka_bootstrap=own.bootstrap, database_url=own.dsn)
    replica = await start(settings)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as other:
            admin = _auth(ADMIN)
            created = (await gateway.post("/v1/projects", json={"name": "rep"},
                                          headers=admin)).json()
            old = _auth(created["secret_key"])
            assert _authenticated(await other.get("/v1/sync-config", headers=old))
            resp = await gateway.post(f"/v1/projects/{created['project_id']}/rotate-key",
                                      headers=admin)
            assert resp.status_code == 200
            # Within its cache time the replica may still take the old key; never after it.
            await asyncio.sleep(0.6)
            assert not _authenticated(await other.get("/v1/sync-config", headers=old))
    finally:
        await stop(replica)

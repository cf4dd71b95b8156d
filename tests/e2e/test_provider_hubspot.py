"""HubSpot through every Ferry service (each its own process, real broker and Postgres), against
the loopback HubSpot: the project's app points at it, an end user connects through the connect
page and HubSpot's consent page, the initial sync pages through the search API (past a 429),
an incremental sync after the token expired picks up changes and archived contacts, and
write-back reaches HubSpot as `{"properties": ...}`; once the app is uninstalled, HubSpot's
BAD_REFRESH_TOKEN puts the connection in AUTH_ERROR."""

from __future__ import annotations

from typing import Any

import pytest
from support.e2e import Api, click_through
from support.providers.hubspot import HubSpot

pytestmark = pytest.mark.slow

RETURN_URL = "http://127.0.0.1:9/done"
MODELS = ["CONTACTS", "COMPANIES"]


@pytest.fixture(scope="module")
def hubspot():
    with HubSpot().running() as server:
        yield server


@pytest.fixture
async def api(platform, hubspot):
    project = platform.create_project()
    a = Api(platform, project)
    app = await a.http.put("/v1/integrations/hubspot", json={
        "client_id": hubspot.client_id, "client_secret": hubspot.client_secret,
        "api_base_url": hubspot.url, "auth_base_url": hubspot.url})
    assert app.status_code == 200, app.text
    yield a
    await a.close()


async def _connect(api: Api) -> dict[str, Any]:
    config = [{"data_model": m, "frequency": "DAILY", "access": "READ_WRITE"} for m in MODELS]
    created = await api.http.post("/v1/users/u-hs/connections", json={
        "provider_name": "hubspot", "requested_data_types": MODELS, "return_url": RETURN_URL,
        "sync_config": {"data_models": config}})
    assert created.status_code == 201, created.text
    landed = await click_through(created.json()["redirect_url"], RETURN_URL, ("connect", {}),
                                 ("approve", {}))
    assert "status=success" in landed, landed
    return created.json()


async def _live(api: Api, cid: str, model: str) -> dict[str, dict[str, Any]]:
    records, _ = await api.records(cid, model)
    return {r["id"]: r["data"] for r in records if r["_ferry"]["action"] != "deleted"}


async def test_hubspot_connects_syncs_pages_changes_archives_and_writes_back(api, hubspot):
    contacts = hubspot.account.seed("contacts", 350)  # 4 search pages of 100
    companies = hubspot.account.seed("companies", 210)
    hubspot.rate_limit_searches(1, after=2)  # a secondly limit in the middle of the first sync
    conn = await _connect(api)
    cid = conn["id"]
    scopes = hubspot.authorizations[-1]["scope"].split()
    assert {"crm.objects.contacts.read", "crm.objects.contacts.write",
            "crm.objects.companies.read", "crm.objects.companies.write"} <= set(scopes)

    for model, seeded, pages in (("CONTACTS", contacts, 4), ("COMPANIES", companies, 3)):
        [job] = await api.wait_jobs(cid, 1, data_model=model)
        assert job["status"] == "complete" and job["counts"]["created"] == len(seeded), job
        assert job["pagination_state"]["pages"] == pages, job
        assert set(await _live(api, cid, model)) == set(seeded)
    assert hubspot.rate_limited == ["/crm/v3/objects/" + hubspot.searches[2][0] + "/search"]

    await _incremental(api, hubspot, cid, contacts)
    await _write_back(api, hubspot, cid)
    await _uninstalled(api, hubspot, cid)


async def _incremental(api: Api, hubspot: HubSpot, cid: str, contacts: list[str]) -> None:
    hubspot.expire_tokens()  # the next call is refused 401 EXPIRED_AUTHENTICATION: a refresh
    for rid in contacts[:3]:
        hubspot.account.update("contacts", rid, {"firstname": "Changed"})
    made = [hubspot.account.create("contacts", {"email": f"new{i}@example.com"}).id
            for i in range(2)]
    hubspot.account.archive("contacts", contacts[3])
    searched = len(hubspot.searches)

    [job] = await api.sync(cid, [{"data_model": "CONTACTS"}])
    done = await api.wait_job(job["id"])
    assert done["status"] == "complete" and done["is_initial_sync"] is False, done
    counts = done["counts"]
    assert (counts["created"], counts["updated"], counts["deleted"]) == (2, 3, 1), done
    assert any(r.get("grant_type") == "refresh_token" for r in hubspot.token_requests)
    filters = [f for kind, body in hubspot.searches[searched:] if kind == "contacts"
               for g in body.get("filterGroups", []) for f in g["filters"]]
    assert filters and all(f["propertyName"] == "lastmodifieddate" and f["operator"] == "GTE"
                           for f in filters)
    live = await _live(api, cid, "CONTACTS")
    assert set(live) == (set(contacts) - {contacts[3]}) | set(made)
    assert live[contacts[0]]["properties"]["firstname"] == "Changed"


async def _write_back(api: Api, hubspot: HubSpot, cid: str) -> None:
    created = await api.http.post(f"/v1/connections/{cid}/records/CONTACTS", json={
        "data": {"email": "wb@example.com", "firstname": "Wanda"}})
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    assert hubspot.writes[-1] == ("POST", "/crm/v3/objects/contacts",
                                  {"properties": {"email": "wb@example.com",
                                                  "firstname": "Wanda"}})
    updated = await api.http.patch(f"/v1/connections/{cid}/records/CONTACTS/{rid}",
                                   json={"data": {"lastname": "Back"}})
    assert updated.status_code == 200, updated.text
    assert hubspot.writes[-1] == ("PATCH", f"/crm/v3/objects/contacts/{rid}",
                                  {"properties": {"lastname": "Back"}})
    assert hubspot.account.objects["contacts"][rid].properties["lastname"] == "Back"
    assert updated.json()["data"]["properties"]["lastname"] == "Back"


async def _uninstalled(api: Api, hubspot: HubSpot, cid: str) -> None:
    hubspot.uninstall()
    [job] = await api.sync(cid, [{"data_model": "COMPANIES"}])
    done = await api.wait_job(job["id"])
    assert done["status"] == "failed" and done["error"].startswith("auth_error:"), done
    now = (await api.http.get(f"/v1/connections/{cid}")).json()
    assert now["status"] == "AUTH_ERROR", now

"""Stripe through the real services (each its own process, real broker and Postgres) against the
loopback Stripe: a secret key given at creation (a wrong one refused by the check), three pages
by `starting_after`, an incremental run by `created[gte]` that outlasts a 429 and finds a
deletion through the Events API, and a form-encoded create."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from support.e2e import Api
from support.providers.stripe import API_KEY, Stripe

pytestmark = pytest.mark.slow
ACCESS = {"data_models": [
    {"data_model": "CUSTOMERS", "frequency": "DAILY", "access": "READ_WRITE"},
    {"data_model": "INVOICES", "frequency": "DAILY", "access": "READ"}]}


@pytest.fixture
async def stripe():
    server = await Stripe().serve()
    yield server
    await server.stop()


async def _live(api: Api, cid: str, model: str) -> set[str]:
    resp = await api.http.get(f"/v1/connections/{cid}/records/{model}",
                              params={"limit": 1000, "include_deleted": "false"})
    assert resp.status_code == 200, resp.text
    return {r["id"] for r in resp.json()["records"]}


async def _connect(api: Api, stripe: Stripe) -> str:
    # An api_key provider's integration exists only to say where Stripe is.
    app = await api.http.put("/v1/integrations/stripe", json={"api_base_url": stripe.url})
    assert app.status_code == 200, app.text
    body = {"provider_name": "stripe", "requested_data_types": ["CUSTOMERS", "INVOICES"],
            "sync_config": ACCESS}
    wrong = await api.http.post("/v1/users/u-st/connections",
                                json={**body, "credentials": {"api_key": "sk_test_wrong"}})
    assert wrong.status_code == 422, wrong.text
    assert [d["field"] for d in wrong.json()["error"]["details"]] == ["credentials"]
    created = await api.http.post("/v1/users/u-st/connections",
                                  json={**body, "credentials": {"api_key": API_KEY}})
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "CONNECTED" and API_KEY not in created.text
    return created.json()["id"]


async def test_stripe_connects_with_a_key_pages_by_starting_after_and_finds_new_and_deleted(
        platform, stripe):
    customers = stripe.seed("customers", 250)
    stripe.seed("invoices", 5)
    api = Api(platform, platform.create_project())
    try:
        cid = await _connect(api, stripe)
        [initial] = await api.wait_jobs(cid, 1, data_model="CUSTOMERS")
        assert initial["pagination_state"]["pages"] == 3 and initial["counts"]["created"] == 250
        await api.wait_jobs(cid, 1, data_model="INVOICES")
        assert len(await _live(api, cid, "INVOICES")) == 5
        pages = [r for r in stripe.list_requests if r["path"] == "/v1/customers"]
        assert pages[0]["limit"] == "100" and "starting_after" not in pages[0]
        assert pages[1]["starting_after"] == customers[150] and "created[gte]" not in pages[1]

        new = stripe.add("customers", {"email": "new@example.com"})["id"]
        stripe.delete("customers", customers[3])
        stripe.limited = 1
        before = len(stripe.list_requests)
        [job] = await api.sync(cid, [{"data_model": "CUSTOMERS"}])
        done = await api.wait_job(job["id"])
        assert done["status"] == "complete", done
        assert done["counts"]["created"] == 1 and done["counts"]["deleted"] == 1, done
        asked = stripe.list_requests[before:]
        assert {a["created[gte]"] for a in asked} == {"1700000249"}
        assert asked[-1]["path"] == "/v1/events" and asked[-1]["type"] == "customer.deleted"
        live = await _live(api, cid, "CUSTOMERS")
        assert new in live and customers[3] not in live and len(live) == 250

        made = await api.http.post(f"/v1/connections/{cid}/records/CUSTOMERS", json={
            "data": {"email": "ada@example.com", "metadata": {"plan": "pro"}}})
        assert made.status_code == 201, made.text
        assert made.json()["data"]["metadata"] == {"plan": "pro"}
        [write] = stripe.writes
        assert write["content_type"] == "application/x-www-form-urlencoded"
        assert parse_qsl(write["raw"]) == [("email", "ada@example.com"), ("metadata[plan]", "pro")]
    finally:
        await api.close()

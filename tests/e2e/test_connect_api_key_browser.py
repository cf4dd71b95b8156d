"""An API-key connection made in a real browser through the connect page's generated form, via
the gateway, against a loopback provider whose definition loads from FERRY_CONNECTORS_PATH."""

from __future__ import annotations

import httpx
import pytest
from support.acme import API_KEY, Acme

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
async def acme():
    server = await Acme().serve()
    yield server
    await server.stop()


async def test_an_end_user_types_an_api_key_into_the_connect_page_and_is_connected(
        platform, receiver, browser, acme):
    project = platform.create_project()
    async with httpx.AsyncClient(base_url=platform.gateway_url, timeout=30, headers={
            "authorization": f"Bearer {project['secret_key']}"}) as api:
        providers = {p["name"]: p for p in (await api.get("/v1/providers")).json()}
        assert providers["acme_key"]["auth_type"] == "api_key"
        assert providers["sandbox"]["configured"] is True
        bad = await api.post("/v1/users/u-key/connections", json={
            "provider_name": "acme_key", "requested_data_types": ["CONTACTS"],
            "connection_config": {"region": "mars"}})
        assert bad.status_code == 422
        assert {d["field"] for d in bad.json()["error"]["details"]} == {
            "connection_config.api_url", "connection_config.region"}
        created = await api.post("/v1/users/u-key/connections", json={
            "provider_name": "acme_key", "requested_data_types": ["CONTACTS"],
            "connection_config": {"api_url": acme.url}, "return_url": f"{receiver.url}/done"})
        assert created.status_code == 201, created.text
        conn = created.json()
        page = await browser.new_page()
        await page.goto(conn["redirect_url"])
        assert "Acme API key" in await page.inner_text("body")
        await page.fill("#api_key", "not-the-key")
        await page.click("#connect")
        await page.wait_for_selector("#refused")
        assert "refused these credentials" in await page.inner_text("#refused")
        await page.fill("#api_key", API_KEY)
        await page.click("#connect")
        await page.wait_for_url(f"{receiver.url}/done**")
        assert "status=success" in page.url and f"connection_id={conn['id']}" in page.url
        await page.close()
        after = (await api.get(f"/v1/connections/{conn['id']}")).json()
        assert after["status"] == "CONNECTED" and API_KEY not in str(after)
        assert after["connection_config"] == {"api_url": acme.url}

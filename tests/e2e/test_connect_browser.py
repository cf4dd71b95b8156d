"""The connect flow in a real headless browser (Debian's chromium driven by Playwright)."""

from __future__ import annotations

import secrets

import httpx
import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(platform):
    return platform.create_project()


async def _connection(platform, project, return_url, **extra):
    async with httpx.AsyncClient(
        base_url=platform.gateway_url, headers={"authorization": f"Bearer {project['secret_key']}"}
    ) as api:
        resp = await api.post(
            f"/v1/users/browser-{secrets.token_hex(3)}/connections",
            json={
                "provider_name": "sandbox",
                "requested_data_types": ["CONTACTS", "INVOICES"],
                "return_url": return_url,
                **extra,
            },
        )
        assert resp.status_code == 201, resp.text
        return resp.json()


async def _status(platform, project, connection_id):
    async with httpx.AsyncClient(
        base_url=platform.gateway_url, headers={"authorization": f"Bearer {project['secret_key']}"}
    ) as api:
        return (await api.get(f"/v1/connections/{connection_id}")).json()["status"]


async def test_an_end_user_connects_in_a_browser_and_returns_with_success(
    platform, project, receiver, browser
):
    conn = await _connection(platform, project, f"{receiver.url}/done")
    page = await browser.new_page()
    await page.goto(conn["redirect_url"])
    text = await page.inner_text("body")
    assert "CONTACTS" in text and "INVOICES" in text and "READ" in text
    await page.click("#connect")
    await page.wait_for_selector("#approve")
    assert "contacts.read" in await page.inner_text("body")
    await page.fill("#account", "browser-" + secrets.token_hex(3))
    await page.click("#approve")
    await page.wait_for_url(f"{receiver.url}/done**")
    assert "status=success" in page.url and f"connection_id={conn['id']}" in page.url
    assert await _status(platform, project, conn["id"]) == "CONNECTED"
    await page.close()


async def test_an_end_user_who_cancels_on_the_connect_page_returns_with_abort(
    platform, project, receiver, browser
):
    conn = await _connection(platform, project, f"{receiver.url}/done")
    page = await browser.new_page()
    await page.goto(conn["redirect_url"])
    await page.click("#cancel")
    await page.wait_for_url(f"{receiver.url}/done**")
    assert "status=abort" in page.url and f"connection_id={conn['id']}" in page.url
    assert await _status(platform, project, conn["id"]) != "CONNECTED"
    await page.close()


async def test_an_end_user_who_denies_at_the_provider_returns_with_abort(
    platform, project, receiver, browser
):
    conn = await _connection(platform, project, f"{receiver.url}/done")
    page = await browser.new_page()
    await page.goto(conn["redirect_url"])
    await page.click("#connect")
    await page.wait_for_selector("#deny")
    await page.click("#deny")
    await page.wait_for_url(f"{receiver.url}/done**")
    assert "status=abort" in page.url
    assert await _status(platform, project, conn["id"]) != "CONNECTED"
    await page.close()


async def test_skip_permissions_hides_the_permission_list(platform, project, receiver, browser):
    conn = await _connection(platform, project, f"{receiver.url}/done", skip_permissions=True)
    page = await browser.new_page()
    await page.goto(conn["redirect_url"])
    assert "INVOICES" not in await page.inner_text("body")
    await page.close()

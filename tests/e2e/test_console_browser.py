"""The console in Debian's chromium, through the real services and data: sign in, the Sync
tab, Refresh, a record's diff, a webhook replay, and another project's data refused."""

from __future__ import annotations

import asyncio
import secrets

import pytest
from support.e2e import Api

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(platform):
    return platform.create_project()


@pytest.fixture(scope="module")
async def api(platform, project):
    a = Api(platform, project)
    yield a
    await a.close()


@pytest.fixture(scope="module")
async def connection(api):
    account = "console-" + secrets.token_hex(3)
    await api.seed(account, "contacts", 30)
    conn = await api.connect(["CONTACTS"], account=account, user="console-user")
    await api.wait_jobs(conn["id"], 1)
    return conn


async def _signed_in(browser, platform, credential, out=None):
    page = await browser.new_page()
    await page.goto(f"{platform.gateway_url}/console")
    await page.wait_for_selector("#credential")
    if out:
        await page.screenshot(path=out / "sign-in.png")
    await page.fill("#credential", credential)
    await page.click("#sign-in")
    await page.wait_for_load_state()
    return page


async def _poll(check, timeout=60.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.3)


async def test_a_project_signs_in_with_its_secret_key_and_sees_its_connections(
        platform, project, connection, browser, tmp_path):
    page = await _signed_in(browser, platform, project["secret_key"], tmp_path)
    assert page.url.endswith("/console/connections")
    assert connection["id"] in await page.inner_text("#connections")
    cookies = await page.context.cookies()
    session = next(c for c in cookies if c["name"] == "ferry_console")
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    assert project["secret_key"] not in session["value"]
    await page.screenshot(path=tmp_path / "connections.png", full_page=True)
    await page.close()


async def test_a_wrong_key_is_refused_at_sign_in(platform, browser):
    page = await _signed_in(browser, platform, "fsk_" + secrets.token_urlsafe(32))
    assert "not a valid secret key" in await page.inner_text("#error")
    await page.close()


async def test_changing_a_frequency_on_the_sync_tab_reaches_the_api(
        platform, project, api, connection, browser, tmp_path):
    page = await _signed_in(browser, platform, project["secret_key"])
    await page.click("#nav-sync")
    await page.wait_for_selector("#sync-form")
    assert "minimum interval" in await page.inner_text("main")
    await page.select_option("#frequency-CONTACTS", "WEEKLY")
    await page.select_option("#access-CONTACTS", "READ")
    await page.click("#save-sync")
    await page.wait_for_selector("#notice")
    await page.screenshot(path=tmp_path / "sync-tab.png", full_page=True)
    config = (await api.http.get("/v1/sync-config")).json()
    contacts = next(m for m in config["data_models"] if m["data_model"] == "CONTACTS")
    assert contacts["frequency"] == "WEEKLY"
    await page.close()


async def test_raising_access_warns_that_end_users_must_reauthorise(
        platform, project, connection, browser):
    page = await _signed_in(browser, platform, project["secret_key"])
    await page.goto(f"{platform.gateway_url}/console/sync")
    await page.select_option("#access-CONTACTS", "READ_WRITE")
    await page.click("#save-sync")
    warning = await (await page.wait_for_selector("#reauth-CONTACTS")).inner_text()
    assert "re-authorise" in warning and "1 of" in warning
    await page.select_option("#access-CONTACTS", "READ")
    await page.click("#save-sync")
    await page.close()


async def test_refresh_runs_a_new_job_to_complete_with_its_counts(
        platform, project, api, connection, browser, tmp_path):
    before = {j["id"] for j in await api.jobs(connection["id"])}
    await api.sandbox.post(f"/_admin/accounts/{connection['account']}/mutate",
                           json={"model": "contacts", "update": 2, "create": 1})
    page = await _signed_in(browser, platform, project["secret_key"])
    await page.goto(f"{platform.gateway_url}/console/connections/{connection['id']}")
    await page.click("#refresh")
    await page.wait_for_selector("#notice")

    async def new_complete_row():
        rows = await page.query_selector_all("tr.job[data-status=complete]")
        ids = [await r.get_attribute("data-job") for r in rows]
        return [i for i in ids if i not in before]

    new = await _poll(new_complete_row)  # the jobs table updates without a reload
    job = await api.job(new[0])
    assert job["status"] == "complete"
    assert (job["counts"]["updated"], job["counts"]["created"]) == (2, 1), job["counts"]
    row = await page.query_selector(f"tr.job[data-job={new[0]}] .fetched")
    assert (await row.inner_text()).strip() == str(job["counts"]["fetched"])

    async def models_idle():
        return "IDLE" in await page.inner_text("#models")

    await _poll(models_idle, timeout=10)  # the models' status is live too
    history = await page.inner_text("#status-history")
    assert "CONNECTED" in history and "AUTH_REQUIRED" in history
    await page.screenshot(path=tmp_path / "connection.png", full_page=True)
    await page.close()


async def test_a_record_shows_the_field_diff_of_an_update_at_the_sandbox(
        platform, project, api, connection, browser, tmp_path):
    changed = (await api.sandbox.post(f"/_admin/accounts/{connection['account']}/mutate",
                                      json={"model": "contacts", "update": 1})).json()
    record_id = str(changed["updated"][0])
    [job] = await api.sync(connection["id"])
    assert (await api.wait_job(job["id"]))["counts"]["updated"] == 1
    page = await _signed_in(browser, platform, project["secret_key"])
    await page.goto(f"{platform.gateway_url}/console/connections/{connection['id']}")
    await page.click("#records-CONTACTS")
    await page.click(f"a.record-link[data-id='{record_id}']")
    await page.wait_for_selector("#versions")
    diff = await page.query_selector_all("tr.version table.diff tr[data-field]")
    fields = {await d.get_attribute("data-field") for d in diff}
    assert "updated_at" in fields or fields, fields
    assert record_id in await page.inner_text("h1")
    await page.screenshot(path=tmp_path / "record.png", full_page=True)
    via_api = (await api.http.get(
        f"/v1/connections/{connection['id']}/records/CONTACTS/{record_id}")).json()
    assert via_api["versions"][-1]["changes"]
    await page.close()


async def test_replaying_a_failed_webhook_delivers_it(
        platform, project, api, connection, receiver, browser, tmp_path):
    page = await _signed_in(browser, platform, project["secret_key"])
    await page.goto(f"{platform.gateway_url}/console/webhooks")
    await page.fill("#endpoint-url", f"{receiver.url}/webhooks")
    await page.click("#add-endpoint")
    secret = await (await page.wait_for_selector("#secret")).inner_text()
    # The receiver refuses what it cannot verify: without the secret every attempt fails.
    [job] = await api.sync(connection["id"])
    await api.wait_job(job["id"])

    async def failed_message():
        resp = await api.http.get("/v1/webhook-messages", params={"event_type": "sync_completed"})
        return [m for m in resp.json()["data"]
                if m["attempts"] and m["payload"]["data"]["job_id"] == job["id"]]

    [message] = await _poll(failed_message)
    assert message["status"] != "delivered"
    receiver.secret = secret.strip()
    await page.goto(f"{platform.gateway_url}/console/webhooks")
    await page.click(f"#replay-{message['id']}")

    async def verified():
        return [r for r in receiver.of_type("sync_completed", job_id=job["id"]) if r.verified]

    await _poll(verified)

    async def delivered():
        resp = await api.http.get("/v1/webhook-messages")
        return [m for m in resp.json()["data"] if m["id"] == message["id"]
                and m["status"] == "delivered"]

    await _poll(delivered)
    await page.goto(f"{platform.gateway_url}/console/webhooks")
    await page.click(f"#toggle-{message['endpoint_id']}")
    assert await page.inner_text(f"#enabled-{message['endpoint_id']}") == "disabled"
    [endpoint] = (await api.http.get("/v1/webhook-endpoints")).json()["data"]
    assert endpoint["enabled"] is False
    await page.click(f"#toggle-{message['endpoint_id']}")
    assert await page.inner_text(f"#enabled-{message['endpoint_id']}") == "yes"
    await page.screenshot(path=tmp_path / "webhooks.png", full_page=True)
    await page.close()


async def test_another_projects_data_is_refused(platform, connection, browser, tmp_path):
    other = platform.create_project()
    page = await _signed_in(browser, platform, other["secret_key"])
    assert connection["id"] not in await page.inner_text("#connections")
    resp = await page.goto(f"{platform.gateway_url}/console/connections/{connection['id']}")
    assert resp.status == 404
    assert "refused" in await page.inner_text("#refused")
    resp = await page.goto(
        f"{platform.gateway_url}/console/connections/{connection['id']}/records/CONTACTS")
    assert resp.status == 404
    await page.screenshot(path=tmp_path / "refused.png")
    await page.close()


async def test_the_admin_token_picks_a_project(platform, project, connection, browser):
    page = await _signed_in(browser, platform, platform.admin_token)
    assert page.url.endswith("/console/projects")
    await page.click(f"#open-{project['project_id']}")
    await page.wait_for_url("**/console/connections")
    assert connection["id"] in await page.inner_text("#connections")
    await page.close()


async def test_full_sync_and_sync_from_a_date_start_jobs_of_that_kind(
        platform, project, api, connection, browser):
    before = {j["id"] for j in await api.jobs(connection["id"])}
    page = await _signed_in(browser, platform, project["secret_key"])
    await page.goto(f"{platform.gateway_url}/console/connections/{connection['id']}")
    await page.fill("#sync-from", "2024-01-01")
    await page.click("#sync-from-date")
    assert "Started 1 sync job" in await (await page.wait_for_selector("#notice")).inner_text()
    [dated] = [j for j in await api.jobs(connection["id"]) if j["id"] not in before]
    await api.wait_job(dated["id"])
    await page.click("#full-sync")
    await page.wait_for_selector("#notice")
    [full] = [j for j in await api.jobs(connection["id"])
              if j["id"] not in before | {dated["id"]}]
    assert full["full_sync"] and (await api.wait_job(full["id"]))["status"] == "complete"
    await page.close()

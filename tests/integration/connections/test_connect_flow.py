"""The connect page and the OAuth callback against the real sandbox provider, in a form browser."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

from connections_harness import RETURN_URL
from ferry_contracts.topics import CONNECTION_CHANGED
from support.kafka import Collector

from ferry_cli.formbrowser import FormBrowser


def _cookies(browser: FormBrowser) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in browser.client.cookies.jar)


async def test_an_end_user_connects_and_returns_with_success_and_the_connection_is_connected(
    harness, project
):
    conn = await harness.create(project)
    assert conn["status"] == "AUTH_REQUIRED" and conn["redirect_url"].startswith(
        f"{harness.url}/connect/{conn['id']}?t="
    )
    async with Collector(
        harness.bootstrap, CONNECTION_CHANGED, lambda e: e.connection_id == conn["id"]
    ) as events:
        account = await harness.connect(conn)
        got = await events.wait(3)
    after = await harness.get(project, conn["id"])
    assert after["status"] == "CONNECTED" and after["connected_at"]
    assert after["granted_scopes"] == ["contacts.read", "invoices.read"]
    assert [(e.data.status, e.data.previous_status) for e in got] == [
        ("AUTH_REQUIRED", None),
        ("CONNECTING", "AUTH_REQUIRED"),
        ("CONNECTED", "CONNECTING"),
    ]
    assert [e.data.version for e in got] == [1, 2, 3] and all(e.project_id == project for e in got)
    assert [m.data_model for m in got[-1].data.sync_config] == ["CONTACTS", "INVOICES"]
    assert (await harness.stats(account))["token_requests"] == 1


async def test_the_connect_page_lists_models_and_access_and_sends_state_and_pkce_to_the_provider(
    harness, project, http
):
    conn = await harness.create(
        project,
        sync_config={
            "data_models": [
                {"data_model": "contacts", "access": "READ_WRITE"},
                {"data_model": "invoices", "access": "READ"},
            ]
        },
    )
    page = await http.get(conn["redirect_url"])
    assert (
        page.status_code == 200
        and "CONTACTS" in page.text
        and "READ_WRITE" in page.text
        and "INVOICES" in page.text
    )
    path = urlsplit(conn["redirect_url"])
    token = parse_qs(path.query)["t"][0]
    resp = await http.post(f"{harness.url}{path.path}", data={"action": "connect", "t": token})
    assert resp.status_code == 303
    target = urlsplit(resp.headers["location"])
    query = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert (
        f"{target.scheme}://{target.netloc}{target.path}"
        == f"{harness.sandbox_url}/oauth/authorize"
    )
    assert query["scope"].split() == ["contacts.read", "contacts.write", "invoices.read"]
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert len(query["state"]) >= 32 and query["redirect_uri"] == f"{harness.url}/oauth/callback"
    assert (await harness.get(project, conn["id"]))["status"] == "CONNECTING"


async def test_skip_permissions_hides_the_permission_list(harness, project, http):
    conn = await harness.create(project, skip_permissions=True)
    page = await http.get(conn["redirect_url"])
    assert page.status_code == 200 and 'id="connect"' in page.text and "INVOICES" not in page.text


async def test_cancel_on_the_connect_page_returns_with_abort_and_leaves_the_connection_unconnected(
    harness, project
):
    conn = await harness.create(project)
    browser = await harness.browse(conn["redirect_url"], ("cancel", {}))
    assert browser.url == f"{RETURN_URL}?status=abort&connection_id={conn['id']}"
    assert (await harness.get(project, conn["id"]))["status"] == "AUTH_REQUIRED"


async def test_denial_at_the_provider_returns_with_abort_and_goes_back_to_auth_required(
    harness, project
):
    conn = await harness.create(project)
    browser = await harness.browse(conn["redirect_url"], ("connect", {}), ("deny", {}))
    assert browser.url.startswith(f"{RETURN_URL}?status=abort&connection_id={conn['id']}")
    assert (await harness.get(project, conn["id"]))["status"] == "AUTH_REQUIRED"


async def test_a_state_is_single_use_so_a_replayed_callback_is_refused(harness, project, http):
    conn = await harness.create(project)
    browser = await harness.browse(
        conn["redirect_url"],
        ("connect", {}),
        ("approve", {"account": "replay"}),
        stop=f"{harness.url}/oauth/callback",
    )
    callback = browser.url
    first = await http.get(callback, headers={"cookie": _cookies(browser)})
    assert first.status_code == 302 and "status=success" in first.headers["location"]
    again = await http.get(callback, headers={"cookie": _cookies(browser)})
    assert again.status_code == 400 and "expired, was already used" in again.text


async def test_without_a_return_url_the_end_user_sees_a_result_page(harness, project):
    conn = await harness.create(project, return_url=None)
    browser = await harness.browse(
        conn["redirect_url"], ("connect", {}), ("approve", {"account": "no-return"})
    )
    assert browser.page is not None and browser.page.status_code == 200
    assert 'data-status="success"' in browser.page.text
    assert (await harness.get(project, conn["id"]))["status"] == "CONNECTED"


async def test_a_connect_link_with_a_wrong_signature_shows_nothing_of_the_connection(
    harness, project, http
):
    conn = await harness.create(project)
    forged = conn["redirect_url"].split("?t=")[0] + "?t=t1.forged"
    page = await http.get(forged)
    assert page.status_code == 404 and "CONTACTS" not in page.text
    resp = await http.post(
        conn["redirect_url"].split("?")[0], data={"action": "connect", "t": "t1.forged"}
    )
    assert resp.status_code == 404
    assert (await harness.get(project, conn["id"]))["status"] == "AUTH_REQUIRED"


async def test_tokens_in_the_database_are_encrypted_not_plaintext(harness, project, pg):
    conn, _ = await harness.connected(project)
    access = (await harness.credentials(conn["id"])).json()["access_token"]
    row = await pg.fetchrow(
        "SELECT access_token, refresh_token FROM connections.tokens WHERE connection_id = $1",
        conn["id"],
    )
    assert access.encode() not in bytes(row["access_token"]) and bytes(
        row["access_token"]
    ).startswith(b"t1:")
    assert bytes(row["refresh_token"]).startswith(b"t1:")
    public = await harness.get(project, conn["id"])
    assert access not in str(public)


async def _at_consent(harness, redirect_url: str) -> FormBrowser:
    """A browser left at the provider's consent page, after Connect."""
    browser = FormBrowser(stop_prefix=RETURN_URL)
    await browser.open(redirect_url)
    await browser.click("connect")
    assert browser.url.startswith(f"{harness.sandbox_url}/oauth/authorize"), browser.url
    return browser


async def test_the_callback_is_refused_in_a_browser_without_the_cookie_of_the_one_that_started(
    harness, project, http, pg
):
    conn = await harness.create(project)
    browser = await harness.browse(
        conn["redirect_url"],
        ("connect", {}),
        ("approve", {"account": "csrf"}),
        stop=f"{harness.url}/oauth/callback",
    )
    [cookie] = list(browser.client.cookies.jar)
    assert cookie.path == "/oauth/callback" and not cookie.secure
    assert (
        cookie.has_nonstandard_attr("HttpOnly") and cookie.get_nonstandard_attr("SameSite") == "lax"
    )
    missing = await http.get(browser.url)
    wrong = await http.get(browser.url, headers={"cookie": f"{cookie.name}=not-the-nonce"})
    for resp in (missing, wrong):
        assert (
            resp.status_code == 400
            and "another browser" in resp.text
            and "text/html" in resp.headers["content-type"]
        )
    assert (await harness.get(project, conn["id"]))["status"] == "CONNECTING"
    assert (
        await pg.fetchval(
            "SELECT count(*) FROM connections.tokens WHERE connection_id = $1", conn["id"]
        )
        == 0
    )
    # The refusals did not burn the end user's own authorization.
    own = await http.get(browser.url, headers={"cookie": _cookies(browser)})
    assert own.status_code == 302 and "status=success" in own.headers["location"]


async def test_an_expired_connect_link_shows_a_clear_page_and_does_nothing(harness, project, http):
    from ferry_connections.crypto import Cipher

    conn = await harness.create(project)
    base = conn["redirect_url"].split("?")[0]
    past = int(time.time()) - 1
    mac = Cipher.from_settings(harness.token_keys, "t1").sign(f"{conn['id']}.{past}")
    expired = f"{past}.{mac}"
    page = await http.get(base, params={"t": expired})
    assert page.status_code == 410 and "expired" in page.text and "CONTACTS" not in page.text
    resp = await http.post(base, data={"action": "connect", "t": expired})
    assert (
        resp.status_code == 410
        and (await harness.get(project, conn["id"]))["status"] == "AUTH_REQUIRED"
    )
    # Links never expire by more than the setting, and GET gives a fresh one.
    expires = int(parse_qs(urlsplit(conn["redirect_url"]).query)["t"][0].split(".")[0])
    assert 7 * 86400 - 60 <= expires - time.time() <= 7 * 86400
    fresh = (await harness.get(project, conn["id"]))["redirect_url"]
    assert (await http.get(fresh)).status_code == 200


async def test_cancel_voids_the_authorization_left_open_at_the_provider(harness, project, http):
    conn = await harness.create(project)
    browser = await _at_consent(harness, conn["redirect_url"])
    try:
        token = parse_qs(urlsplit(conn["redirect_url"]).query)["t"][0]
        await http.post(conn["redirect_url"].split("?")[0], data={"action": "cancel", "t": token})
        await browser.click("approve", account="after-cancel")
    finally:
        await browser.close()
    assert browser.page is not None and browser.page.status_code == 400, browser.url
    assert (await harness.get(project, conn["id"]))["status"] == "AUTH_REQUIRED"


async def test_a_disconnect_while_the_end_user_is_at_the_provider_wins_over_the_callback(
    harness, project, pg
):
    conn, _ = await harness.connected(project)
    models = [{"data_model": "contacts", "access": "READ_WRITE"}, {"data_model": "invoices"}]
    assert (
        await harness.patch(project, conn["id"], sync_config={"data_models": models})
    ).status_code == 200
    fresh = await harness.get(project, conn["id"])
    assert fresh["missing_scopes"] == ["contacts.write"]
    browser = await _at_consent(harness, fresh["redirect_url"])
    try:
        assert (await harness.patch(project, conn["id"], status="DISCONNECTED")).status_code == 200
        await browser.click("approve", account="late")
    finally:
        await browser.close()
    assert "status=abort" in browser.url and "connection_disconnected" in browser.url
    after = await harness.get(project, conn["id"])
    assert after["status"] == "DISCONNECTED" and after["granted_scopes"] == fresh["granted_scopes"]
    assert (
        await pg.fetchval(
            "SELECT count(*) FROM connections.tokens WHERE connection_id = $1", conn["id"]
        )
        == 0
    )

"""Each auth style a definition can declare, against a loopback provider: OAuth with basic client
auth and captures, client credentials, an API key (at creation or typed into the connect page)
with its check, HTTP Basic; and connection config checked at creation."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from support.acme import API_KEY, PASSWORD, USER


async def _oauth_project(harness, project: str) -> None:
    await harness.configure(
        project,
        "acme_oauth",
        client_id="app-o",
        client_secret="s-o",
        api_base_url=harness.acme.url,
        auth_base_url=harness.acme.url,
    )


async def test_oauth_with_basic_client_auth_no_pkce_nested_expiry_and_captures(harness, project):
    await _oauth_project(harness, project)
    conn = await harness.create(project, provider="acme_oauth", types=["CONTACTS"])
    browser = await harness.browse(conn["redirect_url"], ("connect", {}))
    assert "status=success" in browser.url, browser.url
    asked = harness.acme.authorizations[-1]
    assert asked["scope"] == "contacts.read,crm.read" and asked["access_type"] == "offline"
    assert "code_challenge" not in asked
    sent = harness.acme.token_requests[-1]
    assert sent["basic"] == "app-o:s-o" and "code_verifier" not in sent["form"]
    after = await harness.get(project, conn["id"])
    assert after["status"] == "CONNECTED"
    assert after["connection_config"] == {
        "instance_url": f"{harness.acme.url}/i/app-o",
        "realm_id": "r-42",
    }
    creds = (await harness.credentials(conn["id"])).json()
    expires = datetime.fromisoformat(creds["expires_at"]) - datetime.now(UTC)
    assert timedelta(minutes=58) < expires <= timedelta(hours=1)
    assert creds["headers"] == {"Authorization": f"Bearer {creds['access_token']}"}
    assert creds["base_url"] == harness.acme.url
    assert creds["connection_config"]["realm_id"] == "r-42"


async def test_an_oauth_refresh_without_rotation_keeps_the_refresh_token(harness, project):
    await _oauth_project(harness, project)
    conn = await harness.create(project, provider="acme_oauth", types=["CONTACTS"])
    await harness.browse(conn["redirect_url"], ("connect", {}))
    first = (await harness.credentials(conn["id"])).json()["access_token"]
    for _ in range(2):  # the second refresh works only if the first one's token was kept
        resp = await harness.credentials(conn["id"], rejected=_sha(first))
        assert resp.status_code == 200, resp.text
        assert resp.json()["access_token"] != first
        first = resp.json()["access_token"]
    refresh = harness.acme.token_requests[-1]["form"]
    assert refresh["grant_type"] == "refresh_token" and refresh["refresh_token"].startswith("rt-")


def _sha(token: str) -> str:
    import hashlib

    return hashlib.sha256(token.encode()).hexdigest()


async def test_client_credentials_connect_at_once_and_fetch_the_token_with_the_projects_app(
    harness, project
):
    await harness.configure(
        project, "acme_cc", client_id="app-cc", client_secret="s-cc", api_base_url=harness.acme.url
    )
    conn = await harness.create(project, provider="acme_cc", types=["CONTACTS"])
    assert conn["status"] == "CONNECTED"
    before = len(harness.acme.token_requests)
    creds = (await harness.credentials(conn["id"])).json()
    assert creds["access_token"].startswith("cc-") and creds["expires_at"]
    assert creds["headers"] == {"Authorization": f"Bearer {creds['access_token']}"}
    sent = harness.acme.token_requests[-1]["form"]
    assert (sent["client_id"], sent["client_secret"]) == ("app-cc", "s-cc")
    again = (await harness.credentials(conn["id"])).json()
    assert again["access_token"] == creds["access_token"]
    assert len(harness.acme.token_requests) == before + 1


async def test_an_api_key_given_at_creation_is_checked_kept_encrypted_and_sent_in_its_header(
    harness, project, pg
):
    bad = await harness.create(
        project,
        provider="acme_key",
        types=["CONTACTS"],
        expect=422,
        connection_config={"api_url": harness.acme.url},
        credentials={"api_key": "wrong"},
    )
    assert bad["error"]["details"][0]["field"] == "credentials" and "401" in bad["error"]["message"]
    conn = await harness.create(
        project,
        provider="acme_key",
        types=["CONTACTS"],
        connection_config={"api_url": harness.acme.url, "region": "eu"},
        credentials={"api_key": API_KEY},
    )
    assert conn["status"] == "CONNECTED" and API_KEY not in str(conn)
    assert conn["connection_config"] == {"api_url": harness.acme.url, "region": "eu"}
    stored = await pg.fetchval(
        "SELECT secret FROM connections.given_credentials WHERE connection_id = $1", conn["id"]
    )
    assert API_KEY.encode() not in bytes(stored)
    creds = (await harness.credentials(conn["id"])).json()
    assert creds["headers"] == {"X-Api-Key": API_KEY} and creds["base_url"] == harness.acme.url
    assert creds["params"] == {}


async def test_connection_config_that_is_missing_invalid_or_unknown_answers_422_naming_it(
    harness, project
):
    cases = [
        ({}, "connection_config.api_url"),
        ({"api_url": "ftp://x"}, "connection_config.api_url"),
        ({"api_url": harness.acme.url, "region": "mars"}, "connection_config.region"),
        ({"api_url": harness.acme.url, "colour": "red"}, "connection_config.colour"),
    ]
    for config, field in cases:
        body = await harness.create(
            project, provider="acme_key", types=["CONTACTS"], expect=422, connection_config=config
        )
        assert [d["field"] for d in body["error"]["details"]] == [field], body


async def test_http_basic_credentials_are_checked_and_sent_as_basic(harness, project):
    await harness.configure(project, "acme_basic", api_base_url=harness.acme.url)
    await harness.create(
        project,
        provider="acme_basic",
        types=["CONTACTS"],
        expect=422,
        credentials={"username": USER, "password": "nope"},
    )
    conn = await harness.create(
        project,
        provider="acme_basic",
        types=["CONTACTS"],
        credentials={"username": USER, "password": PASSWORD},
    )
    creds = (await harness.credentials(conn["id"])).json()
    pair = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    assert creds["headers"] == {"Authorization": f"Basic {pair}"}


async def test_an_api_key_typed_into_the_connect_page_is_checked_before_connected(harness, project):
    conn = await harness.create(
        project,
        provider="acme_key",
        types=["CONTACTS"],
        connection_config={"api_url": harness.acme.url},
    )
    assert conn["status"] == "AUTH_REQUIRED"
    browser = await harness.browse(conn["redirect_url"], ("connect", {"api_key": "wrong"}))
    assert (
        browser.page.status_code == 400 and "refused these credentials (401)" in browser.page.text
    )
    assert "Acme API key" in browser.page.text and "Settings, then API" in browser.page.text
    assert (await harness.get(project, conn["id"]))["status"] == "AUTH_REQUIRED"
    browser = await harness.browse(conn["redirect_url"], ("connect", {"api_key": API_KEY}))
    query = parse_qs(urlsplit(browser.url).query)
    assert query["status"] == ["success"] and query["connection_id"] == [conn["id"]]
    assert (await harness.get(project, conn["id"]))["status"] == "CONNECTED"
    assert (await harness.credentials(conn["id"])).json()["headers"] == {"X-Api-Key": API_KEY}

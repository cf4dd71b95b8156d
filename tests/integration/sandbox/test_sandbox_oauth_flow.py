"""The OAuth 2.0 endpoints over HTTP: consent page, code exchange with PKCE, refresh rotation."""

from __future__ import annotations

import base64
import secrets
from urllib.parse import parse_qs, urlsplit

from sandbox_harness import REDIRECT_URI, challenge_of

from ferry_cli.formbrowser import forms


def authorize_query(verifier: str, **overrides: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": "ferry",
        "redirect_uri": REDIRECT_URI,
        "scope": "contacts.read invoices.write",
        "state": "xyz",
        "code_challenge": challenge_of(verifier),
        "code_challenge_method": "S256",
        **overrides,
    }


async def test_consent_page_is_one_form_carrying_the_request_with_an_account_field_and_two_buttons(
    sbx,
):
    verifier = secrets.token_urlsafe(48)
    page = await sbx.client.get("/oauth/authorize", params=authorize_query(verifier))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    [form] = forms(page.text)
    assert form.method == "post" and form.action == "/oauth/authorize"
    assert form.fields == {**authorize_query(verifier), "account": ""}
    assert form.buttons == {"approve": ("decision", "approve"), "deny": ("decision", "deny")}
    assert 'id="account"' in page.text
    assert "contacts.read" in page.text and "invoices.write" in page.text


async def test_approving_redirects_with_a_code_and_the_state(sbx):
    verifier = secrets.token_urlsafe(48)
    r = await sbx.client.post(
        "/oauth/authorize",
        data={**authorize_query(verifier), "account": "acme", "decision": "approve"},
    )
    assert r.status_code == 302
    location = urlsplit(r.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    query = parse_qs(location.query)
    assert query["state"] == ["xyz"] and query["code"][0]


async def test_denying_redirects_with_access_denied_and_the_state(sbx):
    verifier = secrets.token_urlsafe(48)
    r = await sbx.client.post(
        "/oauth/authorize", data={**authorize_query(verifier), "decision": "deny"}
    )
    assert r.status_code == 302
    assert parse_qs(urlsplit(r.headers["location"]).query) == {
        "error": ["access_denied"],
        "state": ["xyz"],
    }


async def test_a_redirect_uri_with_its_own_query_keeps_it(sbx):
    verifier = secrets.token_urlsafe(48)
    uri = "https://ferry.test/cb?tenant=7"
    r = await sbx.client.post(
        "/oauth/authorize", data={**authorize_query(verifier, redirect_uri=uri), "decision": "deny"}
    )
    assert parse_qs(urlsplit(r.headers["location"]).query)["tenant"] == ["7"]


async def test_an_invalid_authorization_request_is_a_400_page(sbx):
    verifier = secrets.token_urlsafe(48)
    for bad in (
        {"redirect_uri": "not-a-url"},
        {"scope": "emails.read"},
        {"code_challenge_method": "plain"},
        {"client_id": ""},
        {"response_type": "token"},
    ):
        r = await sbx.client.get("/oauth/authorize", params=authorize_query(verifier, **bad))
        assert r.status_code == 400 and "<html" in r.text, bad
    r = await sbx.client.post(
        "/oauth/authorize",
        data={**authorize_query(verifier, scope=""), "decision": "approve", "account": "a"},
    )
    assert r.status_code == 400


async def test_approving_without_an_account_shows_the_page_again(sbx):
    verifier = secrets.token_urlsafe(48)
    r = await sbx.client.post(
        "/oauth/authorize",
        data={**authorize_query(verifier), "account": "  ", "decision": "approve"},
    )
    assert r.status_code == 400 and len(forms(r.text)) == 1 and 'role="alert"' in r.text


async def test_the_code_with_its_verifier_gets_tokens_and_a_wrong_verifier_gets_invalid_grant(sbx):
    verifier = secrets.token_urlsafe(48)
    code = await sbx.authorize("acme", "contacts.read", verifier)
    wrong = await sbx.token(
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT_URI,
        code_verifier=secrets.token_urlsafe(48),
    )
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    good = await sbx.token(
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT_URI,
        code_verifier=verifier,
    )
    assert good.status_code == 200 and good.headers["cache-control"] == "no-store"
    body = good.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    assert (
        body["token_type"] == "Bearer"
        and body["expires_in"] == 120
        and body["scope"] == "contacts.read"
    )


async def test_client_credentials_in_basic_auth_are_accepted(sbx):
    verifier = secrets.token_urlsafe(48)
    code = await sbx.authorize("acme", "contacts.read", verifier)
    basic = "Basic " + base64.b64encode(b"ferry:some-secret").decode()
    r = await sbx.client.post(
        "/oauth/token",
        headers={"authorization": basic},
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
    )
    assert r.status_code == 200


async def test_a_code_is_single_use_and_its_reuse_revokes_what_it_gave(sbx):
    verifier = secrets.token_urlsafe(48)
    code = await sbx.authorize("acme", "contacts.read", verifier)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
    }
    first = (await sbx.token(**form)).json()
    again = await sbx.token(**form)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert (await sbx.api("GET", "/api/contacts", first["access_token"])).status_code == 401


async def test_a_code_expires_after_ten_minutes(sbx):
    verifier = secrets.token_urlsafe(48)
    code = await sbx.authorize("acme", "contacts.read", verifier)
    sbx.clock.now += 601
    r = await sbx.token(
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT_URI,
        code_verifier=verifier,
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


async def test_a_refresh_returns_a_new_access_token_and_a_new_refresh_token(sbx):
    first = await sbx.connect("acme", "contacts.read")
    r = await sbx.token(grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert r.status_code == 200
    second = r.json()
    assert (
        second["access_token"] != first["access_token"]
        and second["refresh_token"] != first["refresh_token"]
    )
    assert (await sbx.api("GET", "/api/contacts", second["access_token"])).status_code == 200
    third = await sbx.token(grant_type="refresh_token", refresh_token=second["refresh_token"])
    assert third.status_code == 200


async def test_reusing_a_rotated_refresh_token_revokes_the_family_with_invalid_grant(sbx):
    first = await sbx.connect("acme", "contacts.read")
    second = (
        await sbx.token(grant_type="refresh_token", refresh_token=first["refresh_token"])
    ).json()
    reuse = await sbx.token(grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
    assert (await sbx.api("GET", "/api/contacts", second["access_token"])).status_code == 401
    latest = await sbx.token(grant_type="refresh_token", refresh_token=second["refresh_token"])
    assert latest.status_code == 400 and latest.json()["error"] == "invalid_grant"


async def test_admin_revoke_makes_refresh_fail_with_invalid_grant_for_that_account_only(sbx):
    acme, globex = await sbx.connect("acme"), await sbx.connect("globex")
    r = await sbx.client.post("/_admin/tokens/revoke", json={"account": "acme"}, headers=sbx.admin)
    assert r.status_code == 200
    refused = await sbx.token(grant_type="refresh_token", refresh_token=acme["refresh_token"])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert (await sbx.api("GET", "/api/contacts", acme["access_token"])).status_code == 401
    assert (
        await sbx.token(grant_type="refresh_token", refresh_token=globex["refresh_token"])
    ).status_code == 200


async def test_admin_revoke_without_an_account_revokes_everyone(sbx):
    acme = await sbx.connect("acme")
    assert (await sbx.client.post("/_admin/tokens/revoke", headers=sbx.admin)).status_code == 200
    assert (
        await sbx.token(grant_type="refresh_token", refresh_token=acme["refresh_token"])
    ).status_code == 400


async def test_admin_expire_makes_access_tokens_401_while_refresh_still_works(sbx):
    tokens = await sbx.connect("acme")
    assert (
        await sbx.client.post("/_admin/tokens/expire", json={}, headers=sbx.admin)
    ).status_code == 200
    assert (await sbx.api("GET", "/api/contacts", tokens["access_token"])).status_code == 401
    fresh = await sbx.token(grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert fresh.status_code == 200
    assert (await sbx.api("GET", "/api/contacts", fresh.json()["access_token"])).status_code == 200


async def test_token_endpoint_errors_follow_rfc_6749(sbx):
    cases = [
        ({}, "invalid_request"),
        ({"grant_type": "password"}, "unsupported_grant_type"),
        ({"grant_type": "refresh_token"}, "invalid_request"),
        ({"grant_type": "refresh_token", "refresh_token": "nope"}, "invalid_grant"),
        (
            {
                "grant_type": "authorization_code",
                "code": "nope",
                "redirect_uri": REDIRECT_URI,
                "code_verifier": secrets.token_urlsafe(48),
            },
            "invalid_grant",
        ),
    ]
    for form, error in cases:
        r = await sbx.token(**form)
        assert r.status_code == 400 and r.json()["error"] == error, form


async def test_token_requests_and_refreshes_are_counted(sbx):
    tokens = await sbx.connect("acme")
    await sbx.token(grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    stats = (await sbx.client.get("/_admin/stats", headers=sbx.admin)).json()
    assert stats["token_requests"] == 2 and stats["refresh_requests"] == 1
    mine = (
        await sbx.client.get("/_admin/stats", params={"account": "acme"}, headers=sbx.admin)
    ).json()
    assert mine["token_requests"] == 2 and mine["refresh_requests"] == 1


async def test_the_server_metadata_points_at_the_public_url(sbx):
    meta = (await sbx.client.get("/.well-known/oauth-authorization-server")).json()
    assert meta["authorization_endpoint"] == "http://sandbox.test/oauth/authorize"
    assert meta["code_challenge_methods_supported"] == ["S256"]

"""The sandbox's authorization server: PKCE codes, rotating refresh tokens, revocation."""

from __future__ import annotations

import secrets

import pytest
from ferry_sandbox.oauth import ALL_SCOPES, AuthorizationRequest, AuthServer, OAuthError, s256


class StillClock:
    def __init__(self) -> None:
        self.now = 1_750_000_000.0

    def __call__(self) -> float:
        return self.now


REDIRECT = "https://ferry.test/oauth/callback"


def request(verifier: str, scope: str = "contacts.read") -> AuthorizationRequest:
    return AuthorizationRequest.parse(
        {
            "response_type": "code",
            "client_id": "ferry",
            "redirect_uri": REDIRECT,
            "scope": scope,
            "state": "st",
            "code_challenge": s256(verifier),
            "code_challenge_method": "S256",
        }
    )


@pytest.fixture
def clock() -> StillClock:
    return StillClock()


@pytest.fixture
def server(clock: StillClock) -> AuthServer:
    return AuthServer(access_ttl_seconds=60, clock=clock)


def connect(server: AuthServer, account: str = "acme", scope: str = "contacts.read") -> dict:
    verifier = secrets.token_urlsafe(48)
    code = server.issue_code(request(verifier, scope), account)
    return server.exchange_code(code, REDIRECT, verifier)


def grant_error(call) -> str:
    with pytest.raises(OAuthError) as e:
        call()
    return e.value.error


def test_a_code_with_the_right_verifier_yields_bearer_tokens_bound_to_the_account_and_scopes(
    server,
):
    tokens = connect(server, scope="contacts.read invoices.write")
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 60
    assert tokens["scope"] == "contacts.read invoices.write" and tokens["refresh_token"]
    grant = server.authenticate(tokens["access_token"])
    assert grant is not None and grant.account == "acme"
    assert grant.scopes == {"contacts.read", "invoices.write"}


def test_a_wrong_or_missing_verifier_is_an_invalid_grant(server):
    verifier = secrets.token_urlsafe(48)
    code = server.issue_code(request(verifier), "acme")
    assert (
        grant_error(lambda: server.exchange_code(code, REDIRECT, secrets.token_urlsafe(48)))
        == "invalid_grant"
    )
    assert grant_error(lambda: server.exchange_code(code, REDIRECT, None)) == "invalid_grant"
    assert grant_error(lambda: server.exchange_code(code, REDIRECT, "short")) == "invalid_grant"


def test_the_redirect_uri_must_match_the_authorization_request(server):
    verifier = secrets.token_urlsafe(48)
    code = server.issue_code(request(verifier), "acme")
    assert (
        grant_error(lambda: server.exchange_code(code, "https://evil.test/cb", verifier))
        == "invalid_grant"
    )


def test_a_code_works_once_and_its_reuse_revokes_the_tokens_it_gave(server):
    verifier = secrets.token_urlsafe(48)
    code = server.issue_code(request(verifier), "acme")
    tokens = server.exchange_code(code, REDIRECT, verifier)
    assert grant_error(lambda: server.exchange_code(code, REDIRECT, verifier)) == "invalid_grant"
    assert server.authenticate(tokens["access_token"]) is None
    assert grant_error(lambda: server.refresh(tokens["refresh_token"])) == "invalid_grant"


def test_a_code_expires_after_ten_minutes(server, clock):
    verifier = secrets.token_urlsafe(48)
    code = server.issue_code(request(verifier), "acme")
    clock.now += 601
    assert grant_error(lambda: server.exchange_code(code, REDIRECT, verifier)) == "invalid_grant"


def test_an_access_token_expires_after_its_ttl(server, clock):
    tokens = connect(server)
    clock.now += 59
    assert server.authenticate(tokens["access_token"]) is not None
    clock.now += 1
    assert server.authenticate(tokens["access_token"]) is None


def test_a_refresh_rotates_both_tokens_and_spends_the_old_refresh_token(server):
    first = connect(server)
    second = server.refresh(first["refresh_token"])
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert server.authenticate(second["access_token"]).account == "acme"
    third = server.refresh(second["refresh_token"])
    assert third["scope"] == "contacts.read"


def test_reusing_a_spent_refresh_token_revokes_the_whole_family(server):
    first = connect(server)
    second = server.refresh(first["refresh_token"])
    assert grant_error(lambda: server.refresh(first["refresh_token"])) == "invalid_grant"
    assert server.authenticate(second["access_token"]) is None
    assert grant_error(lambda: server.refresh(second["refresh_token"])) == "invalid_grant"


def test_reuse_detection_leaves_other_grants_alone(server):
    mine, other = connect(server), connect(server)
    server.refresh(mine["refresh_token"])
    grant_error(lambda: server.refresh(mine["refresh_token"]))
    assert server.authenticate(other["access_token"]) is not None
    assert server.refresh(other["refresh_token"])["access_token"]


def test_a_refresh_may_narrow_but_not_widen_the_scopes(server):
    tokens = connect(server, scope="contacts.read contacts.write")
    narrowed = server.refresh(tokens["refresh_token"], "contacts.read")
    assert narrowed["scope"] == "contacts.read"
    assert (
        grant_error(lambda: server.refresh(narrowed["refresh_token"], "files.read"))
        == "invalid_scope"
    )


def test_revoking_an_account_makes_its_refresh_fail_and_spares_other_accounts(server):
    acme, globex = connect(server, "acme"), connect(server, "globex")
    assert server.revoke("acme") == 1
    assert server.authenticate(acme["access_token"]) is None
    assert grant_error(lambda: server.refresh(acme["refresh_token"])) == "invalid_grant"
    assert server.authenticate(globex["access_token"]) is not None


def test_expiring_access_tokens_keeps_refresh_tokens_usable(server):
    tokens = connect(server)
    assert server.expire_access() == 1
    assert server.authenticate(tokens["access_token"]) is None
    assert server.authenticate(server.refresh(tokens["refresh_token"])["access_token"]) is not None


def test_static_tokens_speak_for_their_account_with_every_scope(server):
    grant = server.authenticate("static:conn_1")
    assert grant is not None and grant.account == "conn_1" and grant.scopes == ALL_SCOPES
    assert server.authenticate("static:") is None
    assert server.authenticate("made-up") is None


def test_an_authorization_request_lists_every_problem():
    with pytest.raises(ValueError) as e:
        AuthorizationRequest.parse(
            {
                "response_type": "token",
                "redirect_uri": "ftp://x",
                "scope": "contacts.read emails.read",
                "code_challenge_method": "plain",
            }
        )
    message = str(e.value)
    for part in (
        "response_type",
        "client_id",
        "redirect_uri",
        "emails.read",
        "code_challenge_method",
        "code_challenge must",
    ):
        assert part in message


def test_s256_matches_the_rfc_7636_example():
    assert (
        s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )

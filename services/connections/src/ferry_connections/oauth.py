"""OAuth 2.0 client side over authlib's async client: the authorize URL (state, PKCE), the code
exchange, refresh and client credentials; the token answer read through the definition's map."""

from __future__ import annotations

import base64
import hashlib
import math
import secrets
import ssl
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import httpx
from authlib.deprecate import AuthlibDeprecationWarning
from authlib.integrations.base_client.errors import OAuthError

# authlib deprecates its httpx client in favour of httpx2, which Ferry does not use: the notice
# would be the first line of every `ferry dev` and service start.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client
from ferry_connectors.definition import (
    ClientCredentialsAuth,
    InvalidGrant,
    OAuth2Auth,
    TokenResponse,
)

# An `expires_in` past a year is not believed (1e308 would overflow a datetime).
MAX_TOKEN_LIFETIME = 366 * 86_400.0
TIMEOUT = 20.0


@cache
def tls() -> ssl.SSLContext:
    """httpx's default TLS context (the CA bundle it would load), made once per process: loading
    the CAs costs ~20 ms of CPU, which each authlib client per grant would otherwise pay."""
    return httpx.create_ssl_context()


class Refused(Exception):
    """The token endpoint answered an OAuth error (RFC 6749 5.2)."""

    def __init__(self, error: str, description: str = "") -> None:
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error


class TokenRejected(Refused):
    """The provider refused the grant (`invalid_grant`): only the end user can fix it."""


class ClientRejected(Refused):
    """The provider refused Ferry itself (`invalid_client`, `unauthorized_client`...): a fault
    of the OAuth client's configuration that an operator must fix, not the end user's grant."""


class ProviderUnreachable(Exception):
    """The token endpoint failed in a way that may pass (5xx, timeout): try again later."""


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str | None
    expires_at: datetime | None
    scopes: list[str] | None  # None: the provider did not say
    raw: dict[str, Any] | None = None  # the whole answer, for captures; never printed

    def __repr__(self) -> str:  # never print a token, even by accident
        return f"TokenSet(expires_at={self.expires_at!r}, scopes={self.scopes!r})"


@dataclass(frozen=True)
class Client:
    """The project's app, and where its token endpoint is."""

    client_id: str
    client_secret: str | None
    token_url: str

    def __repr__(self) -> str:
        return f"Client({self.client_id!r}, {self.token_url!r})"


def new_state() -> str:
    return secrets.token_urlsafe(32)


def state_hash(state: str) -> bytes:
    return hashlib.sha256(state.encode()).digest()


def browser_cookie(state: str) -> str:
    """The cookie binding an authorization to the browser that started it (one per `state`, so
    two tabs connecting two accounts do not overwrite each other's)."""
    return "ferry_oauth_" + state_hash(state).hex()[:16]


def new_verifier() -> str:
    return secrets.token_urlsafe(48)  # 64 characters of [A-Za-z0-9_-]


def challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def dig(body: Any, path: str | None) -> Any:
    """The value at a dotted path of a JSON document; None when absent."""
    if not path:
        return None
    for part in path.split("."):
        if not isinstance(body, dict):
            return None
        body = body.get(part)
    return body


def _seconds(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        seconds = float(value)
    except OverflowError:  # an int past float's range
        seconds = math.inf
    except (TypeError, ValueError):
        return None
    return None if math.isnan(seconds) else min(max(seconds, 0.0), MAX_TOKEN_LIFETIME)


def _tokens(body: dict[str, Any], now: datetime, previous_refresh: str | None = None,
            shape: TokenResponse | None = None, separator: str = " ") -> TokenSet:
    shape = shape or TokenResponse()
    access = dig(body, shape.access_token)
    if not isinstance(access, str) or not access:
        raise ProviderUnreachable("the token endpoint answered without an access_token")
    lifetime = _seconds(dig(body, shape.expires_in)) if shape.expires_in else None
    if lifetime is None and shape.expires_in and shape.default_expires_in:
        lifetime = float(shape.default_expires_in)
    scope = dig(body, shape.scope)
    scopes = ([s for s in scope.split(separator.strip() or None) if s]
              if isinstance(scope, str) else None)
    refresh = dig(body, shape.refresh_token)
    expires_at = now + timedelta(seconds=lifetime) if lifetime is not None else None
    return TokenSet(access, refresh if isinstance(refresh, str) and refresh else previous_refresh,
                    expires_at, scopes, body)


def _keeper(raw: dict[str, Any],
            refused: InvalidGrant | None = None) -> Callable[[httpx.Response], httpx.Response]:
    """Keep the token endpoint's answer as sent, and hand authlib one without lifetimes: Ferry
    reads those itself (nested, missing, absurd), authlib would choke on some. A refusal in the
    provider's own words (`refused`) becomes RFC 6749's `invalid_grant`."""
    def hook(resp: httpx.Response) -> httpx.Response:
        try:
            body = resp.json()
        except ValueError:
            return resp
        if not isinstance(body, dict):
            return resp
        raw.update(body)
        if (refused is not None and resp.is_error and "error" not in body
                and str(dig(body, refused.path)) in refused.values):
            body = {"error": "invalid_grant", "error_description": str(body.get("message", ""))}
        body = {k: v for k, v in body.items() if k not in ("expires_in", "expires_at")}
        return httpx.Response(resp.status_code, json=body, request=resp.request)
    return hook


async def _grant(auth: OAuth2Auth | ClientCredentialsAuth, client: Client, **form: Any) -> dict:
    raw: dict[str, Any] = {}
    session = AsyncOAuth2Client(client.client_id, client.client_secret or "",
                                token_endpoint_auth_method=auth.client_auth, timeout=TIMEOUT,
                                follow_redirects=False, trust_env=False, verify=tls())
    for hook in ("access_token_response", "refresh_token_response"):
        session.register_compliance_hook(
            hook, _keeper(raw, auth.invalid_grant if isinstance(auth, OAuth2Auth) else None))
    try:
        async with session:
            if form.get("grant_type") == "refresh_token":
                form.pop("grant_type")
                await session.refresh_token(client.token_url, **form, **auth.token_params)
            else:
                await session.fetch_token(client.token_url, **form, **auth.token_params)
    except OAuthError as e:
        error, description = str(e.error)[:100], str(e.description or "")[:300]
        # Only a refused grant is the end user's to fix (RFC 6749 5.2); the rest is ours.
        refused = TokenRejected if error == "invalid_grant" else ClientRejected
        raise refused(error, description) from None
    except (httpx.HTTPError, ValueError) as e:
        raise ProviderUnreachable(f"{type(e).__name__} at the token endpoint") from e
    return raw


async def authorize_url(auth: OAuth2Auth, client: Client, url: str, *, redirect_uri: str,
                        scopes: list[str], state: str, verifier: str) -> str:
    extra = {auth.scope_param: auth.scope_separator.join(scopes), **auth.authorize_params}
    async with AsyncOAuth2Client(client.client_id, redirect_uri=redirect_uri, verify=tls(),
                                 code_challenge_method="S256" if auth.pkce else None) as session:
        uri, _ = session.create_authorization_url(
            url, state=state, code_verifier=verifier if auth.pkce else None, **extra)
    return uri


async def exchange_code(auth: OAuth2Auth, client: Client, *, code: str, redirect_uri: str,
                        verifier: str, now: datetime) -> TokenSet:
    form: dict[str, Any] = {"grant_type": "authorization_code", "code": code,
                            "redirect_uri": redirect_uri}
    if auth.pkce:
        form["code_verifier"] = verifier
    raw = await _grant(auth, client, **form)
    return _tokens(raw, now, shape=auth.token_response, separator=auth.scope_separator)


async def refresh(auth: OAuth2Auth, client: Client, *, refresh_token: str,
                  now: datetime) -> TokenSet:
    raw = await _grant(auth, client, grant_type="refresh_token", refresh_token=refresh_token)
    # Without rotation the answer holds no refresh token: the one used stays good.
    return _tokens(raw, now, refresh_token, shape=auth.token_response,
                   separator=auth.scope_separator)


async def client_credentials(auth: ClientCredentialsAuth, client: Client, *, scopes: list[str],
                             now: datetime) -> TokenSet:
    form: dict[str, Any] = {"grant_type": "client_credentials"}
    if scopes:
        form["scope"] = auth.scope_separator.join(scopes)
    raw = await _grant(auth, client, **form)
    return _tokens(raw, now, shape=auth.token_response, separator=auth.scope_separator)

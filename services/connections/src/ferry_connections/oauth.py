"""OAuth 2.0 client side: PKCE S256, the authorize URL, and the token endpoint calls."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
from ferry_connectors.sdk import Provider, bounded_seconds

# An `expires_in` past a year is not believed (1e308 would overflow a datetime).
MAX_TOKEN_LIFETIME = 366 * 86_400.0


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

    def __repr__(self) -> str:  # never print a token, even by accident
        return f"TokenSet(expires_at={self.expires_at!r}, scopes={self.scopes!r})"


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
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).decode().rstrip("=")


def public_base_url(provider: Provider, settings: Any) -> str:
    """Where a browser reaches the provider: `<setting>` with `_url` → `_public_url` if set
    (the sandbox is reached by the browser and by Ferry at different addresses), else its base URL."""
    if provider.base_url_setting and provider.base_url_setting.endswith("_url"):
        value = getattr(settings, provider.base_url_setting[: -len("_url")] + "_public_url", None)
        if value:
            return str(value).rstrip("/")
    return provider.base_url(settings)


def authorize_url(provider: Provider, settings: Any, *, client_id: str, redirect_uri: str, scopes: list[str],
                  state: str, verifier: str) -> str:
    query = urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": " ".join(scopes),
        "state": state, "code_challenge": challenge(verifier), "code_challenge_method": "S256",
    })
    return f"{public_base_url(provider, settings)}{provider.authorize_path}?{query}"


def _tokens(body: dict[str, Any], now: datetime, previous_refresh: str | None = None) -> TokenSet:
    access = body.get("access_token")
    if not isinstance(access, str) or not access:
        raise ProviderUnreachable("the token endpoint answered without an access_token")
    lifetime = bounded_seconds(body.get("expires_in"), maximum=MAX_TOKEN_LIFETIME, default=None)
    expires_at = now + timedelta(seconds=lifetime) if lifetime is not None else None
    scope = body.get("scope")
    return TokenSet(access, body.get("refresh_token") or previous_refresh, expires_at,
                    scope.split() if isinstance(scope, str) else None)


async def _post(http: httpx.AsyncClient, url: str, form: dict[str, str]) -> dict[str, Any]:
    try:
        resp = await http.post(url, data=form, headers={"accept": "application/json"})
    except httpx.HTTPError as e:
        raise ProviderUnreachable(f"{type(e).__name__} reaching the token endpoint") from e
    try:
        body = resp.json()
    except ValueError:
        body = {}
    if resp.status_code in (400, 401) and isinstance(body, dict) and body.get("error"):
        error, description = str(body["error"])[:100], str(body.get("error_description", ""))[:300]
        # Only a refused grant is the end user's to fix (RFC 6749 5.2); the rest is ours.
        raise (TokenRejected if error == "invalid_grant" else ClientRejected)(error, description)
    if resp.status_code >= 400 or not isinstance(body, dict):
        raise ProviderUnreachable(f"the token endpoint answered {resp.status_code}")
    return body


async def exchange_code(http: httpx.AsyncClient, provider: Provider, settings: Any, *, code: str,
                        redirect_uri: str, verifier: str, now: datetime) -> TokenSet:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "code_verifier": verifier, "client_id": settings.oauth_client_id}
    if settings.oauth_client_secret:
        form["client_secret"] = settings.oauth_client_secret
    return _tokens(await _post(http, provider.base_url(settings) + provider.token_path, form), now)


async def refresh(http: httpx.AsyncClient, provider: Provider, settings: Any, *, refresh_token: str,
                  now: datetime) -> TokenSet:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": settings.oauth_client_id}
    if settings.oauth_client_secret:
        form["client_secret"] = settings.oauth_client_secret
    body = await _post(http, provider.base_url(settings) + provider.token_path, form)
    return _tokens(body, now, previous_refresh=refresh_token)

"""Fresh credentials for the executor: one refresh at a time per connection, across processes.

The refresh runs while holding row locks on the connection and its token, inside the transaction
that writes the rotated tokens: a provider that rotates refresh tokens treats a second use of
one as theft, so two refreshes of one connection must never race. Callers that waited on the
lock then find the token fresh (or refreshed moments ago) and return it without a second refresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from ferry_kit import internal
from ferry_kit import logging as klog
from ferry_kit.clock import Clock
from ferry_kit.errors import ApiError, Conflict, NotFound
from ferry_kit.uow import UnitOfWork

from . import domain, given, integrations, oauth, oauth_flow
from .catalogue import Catalogue, Provider
from .crypto import Cipher
from .domain import Connection, NewToken, Token, status_detail
from .handlers import save_and_emit
from .integrations import Endpoints
from .repository import Repository
from .settings import Settings

log = klog.get("ferry.connections.credentials")
Uow = UnitOfWork[Repository]
Json = dict[str, Any]


class Unavailable(ApiError):
    """The provider's token endpoint failed in a way that may pass; retry later."""

    def __init__(self, reason: str) -> None:
        super().__init__(503, "provider_unavailable",
                         f"the provider's token endpoint failed: {reason}")


class Misconfigured(ApiError):
    """The provider refused the project's OAuth client: its integration must be fixed."""

    def __init__(self, reason: str) -> None:
        super().__init__(502, "provider_auth_config", "the provider refused the project's OAuth "
                         f"client (check its integration): {reason}")


@dataclass(frozen=True)
class Refused:
    """The provider refused the refresh: the connection is now AUTH_ERROR (committed)."""

    error: str

    def conflict(self) -> Conflict:
        return Conflict("the provider rejected the refresh; the end user must connect again "
                        "through the connection's redirect_url", "auth_error",
                        [status_detail("status", "AUTH_ERROR", "AUTH_ERROR")])


@dataclass(frozen=True)
class Deps:
    catalogue: Catalogue
    cipher: Cipher
    clock: Clock
    settings: Settings
    http: httpx.AsyncClient


async def credentials(
    uow: Uow, catalogue: Catalogue, cipher: Cipher, clock: Clock, settings: Settings,
    http: httpx.AsyncClient, connection_id: str, force: bool = False, rejected: str | None = None,
) -> Json | Refused:
    """Valid credentials. `force` refreshes unless a refresh happened moments ago;
    `rejected` (the fingerprint of a token the provider answered 401 to) refreshes exactly
    when that token is still the current one, so concurrent callers cause one refresh."""
    d = Deps(catalogue, cipher, clock, settings, http)
    c = await uow.repos.connection(connection_id)
    if c is None:
        raise NotFound(f"no connection {connection_id}")
    provider = catalogue.installed(c.provider_name)
    if c.status != "CONNECTED":
        raise Conflict(f"the connection is {c.status}, not CONNECTED", "not_connected",
                       [status_detail("status", c.status, c.status)])
    ends = await integrations.endpoints(uow.repos, c, provider, cipher, settings)
    if provider.auth_type in ("none", *given.FIELDS):
        return _answer(d, c, provider, ends, None, await _given(uow, d, c, provider))
    tok = await uow.repos.token(connection_id)
    if tok is None and provider.auth_type == "oauth2":
        raise Conflict("the connection holds no credentials; it needs authorization",
                       "not_connected")
    if not _stale(d, c.id, tok, clock.now(), force, rejected):
        return _answer(d, c, provider, ends, tok)
    return await _renew(uow, d, c.id, ends, tok.updated_at if tok else None, force, rejected)


def _stale(d: Deps, cid: str, tok: Token | None, now: datetime, force: bool,
           rejected: str | None) -> bool:
    if tok is None:  # client credentials not fetched yet
        return True
    if rejected is not None:
        # The provider refused this token: refresh unless another caller already replaced it.
        current = d.cipher.decrypt(tok.access_token, cid)
        return internal.token_fingerprint(current) == rejected
    if domain.recently(tok.refreshed_at, now, d.settings.token_refresh_reuse_seconds):
        return False
    return force or domain.expires_soon(tok.expires_at, now,
                                        d.settings.token_refresh_margin_seconds)


def _answer(d: Deps, c: Connection, provider: Provider, ends: Endpoints, tok: Token | None,
            secrets: dict[str, str] | None = None) -> Json:
    """The executor's view of the connection: where to call and what to send."""
    secrets = dict(secrets or {})
    if tok is not None:
        secrets["access_token"] = d.cipher.decrypt(tok.access_token, c.id)
    headers, params = given.sending(provider, c, ends, secrets)
    bearer = headers.get("Authorization", "")
    access = secrets.get("access_token") or (
        bearer[len("Bearer "):] if bearer.startswith("Bearer ") else None)
    return {"provider_name": c.provider_name, "base_url": ends.api_base_url,
            "headers": headers, "params": params, "connection_config": c.connection_config,
            "access_token": access,
            "expires_at": tok.expires_at.isoformat() if tok and tok.expires_at else None}


async def _given(uow: Uow, d: Deps, c: Connection, provider: Provider) -> dict[str, str]:
    if provider.auth_type == "none":
        return {}
    sealed = await uow.repos.given_secret(c.id)
    if sealed is None:
        raise Conflict("the connection holds no credentials; the end user must give them "
                       "through the connection's redirect_url", "not_connected")
    return given.unseal(d.cipher, c.id, sealed)


async def _renew(uow: Uow, d: Deps, connection_id: str, ends: Endpoints, seen: datetime | None,
                 force: bool, rejected: str | None) -> Json | Refused:
    """One refresh at a time: under the row locks, in the transaction writing the tokens."""
    c = await uow.repos.connection(connection_id, lock=True)
    tok = await uow.repos.token(connection_id, lock=True)
    provider = d.catalogue.installed(c.provider_name) if c else None
    cc = provider is not None and provider.auth_type == "oauth2_client_credentials"
    if c is None or provider is None or c.status != "CONNECTED" or (tok is None and not cc):
        raise _not_connected(c.status if c else "DELETED")
    now = d.clock.now()
    if tok is not None and (tok.updated_at != seen or not _stale(
            d, c.id, tok, now, force, rejected) or (tok.refresh_token is None and not cc)):
        return _answer(d, c, provider, ends, tok)  # another caller refreshed it
    try:
        new = await _fetch(d, c, provider, ends, tok, now)
    except oauth.TokenRejected as e:
        if cc:
            raise Misconfigured(str(e)) from e
        previous = c.status
        c.status, c.disconnected_at = "AUTH_ERROR", now
        await uow.repos.delete_credentials(c.id)
        await save_and_emit(uow, d.catalogue, c, previous, "refresh_rejected")
        log.info("refresh rejected by the provider", connection_id=connection_id, error=e.error)
        return Refused(e.error)
    cipher = d.cipher
    scopes = new.scopes if new.scopes is not None else (list(tok.scopes) if tok else [])
    await uow.repos.put_token(c.id, NewToken(
        cipher.encrypt(new.access_token, c.id),
        cipher.encrypt(new.refresh_token, c.id) if new.refresh_token else None,
        new.expires_at, scopes, now))
    return _answer(d, c, provider, ends, await uow.repos.token(c.id))


async def _fetch(d: Deps, c: Connection, provider: Provider, ends: Endpoints, tok: Token | None,
                 now: datetime) -> oauth.TokenSet:
    """New tokens: a refresh, or (client credentials) a new grant of the project's app."""
    auth: Any = provider.auth
    client = oauth_flow.client(provider, c, ends)
    try:
        if auth.type == "oauth2_client_credentials":
            return await oauth.client_credentials(auth, client, scopes=list(ends.extra_scopes),
                                                  now=now)
        assert tok is not None and tok.refresh_token is not None
        refresh = d.cipher.decrypt(tok.refresh_token, c.id)
        return await oauth.refresh(auth, client, refresh_token=refresh, now=now)
    except oauth.ProviderUnreachable as e:
        log.error("token refresh failed at the provider; the connection is unchanged",
                  connection_id=c.id, provider=c.provider_name, error=str(e))
        raise Unavailable(str(e)) from e
    except oauth.ClientRejected as e:
        # Not the end user's fault: the connection stays as it is, an operator acts.
        log.error("the provider refused the project's OAuth client; check its client id and "
                  "secret", connection_id=c.id, provider=c.provider_name, error=str(e))
        raise Misconfigured(str(e)) from e


def _not_connected(status: str) -> Conflict:
    return Conflict(f"the connection is {status}, not CONNECTED",
                    "auth_error" if status == "AUTH_ERROR" else "not_connected",
                    [status_detail("status", status, status)])

"""Fresh credentials for the executor: one refresh at a time per connection, across processes.

The refresh runs while holding row locks on the connection and its token, inside the transaction
that writes the rotated tokens: a provider that rotates refresh tokens treats a second use of
one as theft, so two refreshes of one connection must never race. Callers that waited on the
lock then find the token fresh (or refreshed moments ago) and return it without a second refresh.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from ferry_kit import internal
from ferry_kit import logging as klog

from . import domain, given, oauth, oauth_flow
from . import repository as repo
from .catalogue import Provider
from .domain import Conflict, Connection
from .integrations import Endpoints
from .service import Connections, NotFound
from .settings import Settings

log = klog.get("ferry.connections.credentials")


class Unavailable(Exception):
    """The provider's token endpoint failed in a way that may pass; retry later."""


class Misconfigured(Exception):
    """The provider refused the project's OAuth client: its integration must be fixed."""


class Credentials:
    def __init__(self, connections: Connections, settings: Settings, http: httpx.AsyncClient) -> None:
        self.connections, self.settings, self.http = connections, settings, http

    def _stale(self, cid: str, tok: Any, now: datetime, force: bool, rejected: str | None) -> bool:
        if tok is None:  # client credentials not fetched yet
            return True
        if rejected is not None:
            # The provider refused this token: refresh unless another caller already replaced it.
            current = self.connections.cipher.decrypt(tok["access_token"], cid)
            return internal.token_fingerprint(current) == rejected
        if domain.recently(tok["refreshed_at"], now, self.settings.token_refresh_reuse_seconds):
            return False
        return force or domain.expires_soon(tok["expires_at"], now,
                                            self.settings.token_refresh_margin_seconds)

    def _answer(self, c: Connection, provider: Provider, ends: Endpoints, tok: Any,
                secrets: dict[str, str] | None = None) -> dict[str, Any]:
        """The executor's view of the connection: where to call and what to send."""
        secrets = dict(secrets or {})
        if tok is not None:
            secrets["access_token"] = self.connections.cipher.decrypt(tok["access_token"], c.id)
        headers, params = given.sending(provider, c, ends, secrets)
        bearer = headers.get("Authorization", "")
        access = secrets.get("access_token") or (
            bearer[len("Bearer "):] if bearer.startswith("Bearer ") else None)
        return {"provider_name": c.provider_name, "base_url": ends.api_base_url,
                "headers": headers, "params": params, "connection_config": c.connection_config,
                "access_token": access,
                "expires_at": tok["expires_at"].isoformat() if tok and tok["expires_at"] else None}

    async def get(self, connection_id: str, *, force: bool = False,
                  rejected: str | None = None) -> dict[str, Any]:
        """Valid credentials. `force` refreshes unless a refresh happened moments ago;
        `rejected` (the fingerprint of a token the provider answered 401 to) refreshes exactly
        when that token is still the current one, so concurrent callers cause one refresh."""
        async with self.connections.pool.acquire() as conn:
            c = await repo.get(conn, connection_id)
            if c is None:
                raise NotFound(f"no connection {connection_id}")
            provider = self.connections.provider_of(c)
            if c.status != "CONNECTED":
                raise Conflict("not_connected", f"the connection is {c.status}, not CONNECTED",
                               [{"field": "status", "message": c.status,
                                 "current_status": c.status}])
            ends = await self.connections.integrations.endpoints(conn, c)
            if provider.auth_type in ("none", *given.FIELDS):
                return self._answer(c, provider, ends, None, await self._given(conn, c, provider))
            tok = await repo.token(conn, connection_id)
            if tok is None and provider.auth_type == "oauth2":
                raise Conflict("not_connected",
                               "the connection holds no credentials; it needs authorization")
            if not self._stale(c.id, tok, self.connections.clock(), force, rejected):
                return self._answer(c, provider, ends, tok)
            return await self._renew(conn, c.id, ends, tok["updated_at"] if tok else None,
                                     force, rejected)

    async def _given(self, conn: Any, c: Connection, provider: Provider) -> dict[str, str]:
        if provider.auth_type == "none":
            return {}
        sealed = await repo.given_secret(conn, c.id)
        if sealed is None:
            raise Conflict("not_connected", "the connection holds no credentials; the end user "
                           "must give them through the connection's redirect_url")
        return given.unseal(self.connections.cipher, c.id, sealed)

    async def _renew(self, conn: Any, connection_id: str, ends: Endpoints, seen: Any, force: bool,
                     rejected: str | None) -> dict[str, Any]:
        """One refresh at a time: under the row locks, in the transaction writing the tokens."""
        refused: oauth.TokenRejected | None = None
        async with conn.transaction():
            c = await repo.get(conn, connection_id, lock=True)
            tok = await repo.token(conn, connection_id, lock=True)
            provider = self.connections.provider_of(c) if c else None
            cc = provider is not None and provider.auth_type == "oauth2_client_credentials"
            if c is None or provider is None or c.status != "CONNECTED" or (tok is None and not cc):
                raise _not_connected(c.status if c else "DELETED")
            now = self.connections.clock()
            if tok is not None and (tok["updated_at"] != seen or not self._stale(
                    c.id, tok, now, force, rejected) or (tok["refresh_token"] is None and not cc)):
                return self._answer(c, provider, ends, tok)  # another caller refreshed it
            try:
                new = await self._fetch(c, provider, ends, tok, now)
            except oauth.TokenRejected as e:
                if cc:
                    raise Misconfigured(str(e)) from e
                refused = e
                previous = c.status
                c.status, c.disconnected_at = "AUTH_ERROR", now
                await repo.delete_token(conn, c.id)
                saved = await repo.save(conn, c)
                await self.connections.emit(conn, saved, previous, "refresh_rejected")
            else:
                cipher = self.connections.cipher
                kept = list(tok["scopes"]) if tok else []
                scopes = new.scopes if new.scopes is not None else kept
                await repo.put_token(
                    conn, c.id, cipher.encrypt(new.access_token, c.id),
                    cipher.encrypt(new.refresh_token, c.id) if new.refresh_token else None,
                    new.expires_at, scopes, now)
                fresh = await repo.token(conn, c.id)
        if refused is not None:
            log.info("refresh rejected by the provider", connection_id=connection_id,
                     error=refused.error)
            raise Conflict("auth_error", "the provider rejected the refresh; the end user must "
                           "connect again through the connection's redirect_url",
                           [{"field": "status", "message": "AUTH_ERROR",
                             "current_status": "AUTH_ERROR"}])
        return self._answer(c, provider, ends, fresh)

    async def _fetch(self, c: Connection, provider: Provider, ends: Endpoints, tok: Any,
                     now: datetime) -> oauth.TokenSet:
        """New tokens: a refresh, or (client credentials) a new grant of the project's app."""
        auth: Any = provider.auth
        client = oauth_flow.client(provider, c, ends)
        try:
            if auth.type == "oauth2_client_credentials":
                return await oauth.client_credentials(auth, client, scopes=list(ends.extra_scopes),
                                                      now=now)
            refresh = self.connections.cipher.decrypt(tok["refresh_token"], c.id)
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
    return Conflict("auth_error" if status == "AUTH_ERROR" else "not_connected",
                    f"the connection is {status}, not CONNECTED",
                    [{"field": "status", "message": status, "current_status": status}])

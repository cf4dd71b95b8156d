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

from . import domain, oauth
from . import repository as repo
from .domain import Conflict
from .service import Connections, NotFound, provider_of
from .settings import Settings

log = klog.get("ferry.connections.credentials")


class Unavailable(Exception):
    """The provider's token endpoint failed in a way that may pass; retry later."""


class Misconfigured(Exception):
    """The provider refused Ferry's OAuth client: an operator must fix its configuration."""


class Credentials:
    def __init__(self, connections: Connections, settings: Settings, http: httpx.AsyncClient) -> None:
        self.connections, self.settings, self.http = connections, settings, http

    def _stale(self, cid: str, tok: Any, now: datetime, force: bool, rejected: str | None) -> bool:
        if rejected is not None:
            # The provider refused this token: refresh unless another caller already replaced it.
            return internal.token_fingerprint(self.connections.cipher.decrypt(tok["access_token"], cid)) == rejected
        if domain.recently(tok["refreshed_at"], now, self.settings.token_refresh_reuse_seconds):
            return False
        return force or domain.expires_soon(tok["expires_at"], now, self.settings.token_refresh_margin_seconds)

    def _answer(self, cid: str, provider_name: str, base_url: str, tok: Any) -> dict[str, Any]:
        return {"access_token": self.connections.cipher.decrypt(tok["access_token"], cid),
                "expires_at": tok["expires_at"].isoformat() if tok["expires_at"] else None,
                "base_url": base_url, "provider_name": provider_name}

    async def get(self, connection_id: str, *, force: bool = False, rejected: str | None = None) -> dict[str, Any]:
        """A valid access token. `force` refreshes unless a refresh happened moments ago;
        `rejected` (the fingerprint of a token the provider answered 401 to) refreshes exactly
        when that token is still the current one, so concurrent callers cause one refresh."""
        async with self.connections.pool.acquire() as conn:
            c = await repo.get(conn, connection_id)
            if c is None:
                raise NotFound(f"no connection {connection_id}")
            provider = provider_of(c)
            base_url = provider.base_url(self.settings)
            if c.status != "CONNECTED":
                raise Conflict("not_connected", f"the connection is {c.status}, not CONNECTED",
                               [{"field": "status", "message": c.status, "current_status": c.status}])
            if provider.auth_type == "none" or provider.static_token:
                token = (provider.static_token or "").format(connection_id=c.id, user_id=c.user_id)
                return {"access_token": token, "expires_at": None, "base_url": base_url, "provider_name": c.provider_name}
            tok = await repo.token(conn, connection_id)
            if tok is None:
                raise Conflict("not_connected", "the connection holds no credentials; it needs authorization")
            if not self._stale(c.id, tok, self.connections.clock(), force, rejected):
                return self._answer(c.id, c.provider_name, base_url, tok)
            seen = tok["updated_at"]
            refused: oauth.TokenRejected | None = None
            async with conn.transaction():
                c = await repo.get(conn, connection_id, lock=True)
                tok = await repo.token(conn, connection_id, lock=True)
                if c is None or c.status != "CONNECTED" or tok is None:
                    status = c.status if c else "DELETED"
                    raise Conflict("auth_error" if status == "AUTH_ERROR" else "not_connected",
                                   f"the connection is {status}, not CONNECTED",
                                   [{"field": "status", "message": status, "current_status": status}])
                now = self.connections.clock()
                if tok["updated_at"] != seen or not self._stale(c.id, tok, now, force, rejected) or tok["refresh_token"] is None:
                    return self._answer(c.id, c.provider_name, base_url, tok)  # another caller refreshed it
                cipher = self.connections.cipher
                try:
                    new = await oauth.refresh(self.http, provider, self.settings,
                                              refresh_token=cipher.decrypt(tok["refresh_token"], c.id), now=now)
                except oauth.ProviderUnreachable as e:
                    log.error("token refresh failed at the provider; the connection is unchanged",
                              connection_id=c.id, provider=c.provider_name, error=str(e))
                    raise Unavailable(str(e)) from e
                except oauth.ClientRejected as e:
                    # Not the end user's fault: the connection stays as it is, an operator acts.
                    log.error("the provider refused Ferry's OAuth client; check its client id and "
                              "secret", connection_id=c.id, provider=c.provider_name, error=str(e))
                    raise Misconfigured(str(e)) from e
                except oauth.TokenRejected as e:
                    refused = e
                    previous = c.status
                    c.status, c.disconnected_at = "AUTH_ERROR", now
                    await repo.delete_token(conn, c.id)
                    saved = await repo.save(conn, c)
                    await self.connections.emit(conn, saved, previous, "refresh_rejected")
                else:
                    scopes = new.scopes if new.scopes is not None else list(tok["scopes"])
                    await repo.put_token(conn, c.id, cipher.encrypt(new.access_token, c.id),
                                         cipher.encrypt(new.refresh_token, c.id) if new.refresh_token else None,
                                         new.expires_at, scopes, now)
                    fresh = await repo.token(conn, c.id)
            if refused is not None:
                log.info("refresh rejected by the provider", connection_id=connection_id, error=refused.error)
                raise Conflict("auth_error", "the provider rejected the refresh; the end user must connect again "
                               "through the connection's redirect_url",
                               [{"field": "status", "message": "AUTH_ERROR", "current_status": "AUTH_ERROR"}])
            return self._answer(c.id, c.provider_name, base_url, fresh)

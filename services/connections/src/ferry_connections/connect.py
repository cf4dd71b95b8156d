"""The connect flow: the page's two buttons and the OAuth callback (state, PKCE, code exchange)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from ferry_kit import logging as klog

from . import domain, oauth
from . import repository as repo
from .domain import Connection, ModelConfig
from .service import Connections, provider_of
from .settings import Settings

log = klog.get("ferry.connections.connect")


class LinkInvalid(Exception):
    """The connect link or the callback is not (or no longer) good; shown as an HTML page."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message, self.status = message, status


@dataclass(frozen=True)
class Outcome:
    """Where the browser goes next: a URL, or (no return_url) a result page."""

    url: str | None
    status: str  # success | abort | pending
    connection_id: str
    message: str = ""
    # Set when an authorization starts: the cookie (name, nonce) that binds it to this browser.
    cookie: tuple[str, str] | None = None


@dataclass(frozen=True)
class PageView:
    connection: Connection
    provider_display_name: str
    models: list[ModelConfig]
    connectable: bool
    notice: str


def _finish(c: Connection, status: str, **extra: str) -> Outcome:
    if c.return_url:
        return Outcome(domain.with_query(c.return_url, status=status, connection_id=c.id, **extra), status, c.id)
    return Outcome(None, status, c.id, extra.get("error", ""))


class ConnectFlow:
    def __init__(self, connections: Connections, settings: Settings, http: httpx.AsyncClient) -> None:
        self.connections, self.settings, self.http = connections, settings, http

    @property
    def callback_url(self) -> str:
        return f"{self.settings.public_url.rstrip('/')}/oauth/callback"

    async def _load(self, conn: Any, connection_id: str, token: str, *, lock: bool = False) -> Connection:
        c = await repo.get(conn, connection_id, lock=lock)
        expires = self.connections.link_expiry(token or "", connection_id)
        if c is None or expires is None:
            raise LinkInvalid("This connection link is not valid. Ask the app that sent you here for a new one.", 404)
        if expires <= self.connections.clock():
            raise LinkInvalid("This connection link has expired. Ask the app that sent you here for "
                              "a new one.", 410)
        return c

    async def page(self, connection_id: str, token: str) -> PageView:
        async with self.connections.pool.acquire() as conn:
            c = await self._load(conn, connection_id, token)
            project = await repo.project_config(conn, c.project_id)
        provider = provider_of(c)
        desired = domain.desired_config(provider, c.requested_data_types, c.sync_config, project)
        missing = domain.missing_scopes(provider, desired, c.granted_scopes)
        connectable = c.status in domain.CONNECTABLE and (c.status != "CONNECTED" or bool(missing))
        notice = {
            "DISCONNECTED": "This connection was disconnected by the app. Ask it to reconnect you.",
            "CONNECTED": "This account is already connected.",
            "AUTH_ERROR": "The connection lost its authorization. Connect again to restore it.",
        }.get(c.status, "")
        if c.status == "CONNECTED" and missing:
            notice = "The app now asks for more access. Connect again to grant it."
        return PageView(c, provider.display_name, desired, connectable, notice)

    async def start(self, connection_id: str, token: str) -> Outcome:
        """Connect: `CONNECTING`, then the provider's consent page (or connected at once)."""
        async with self.connections.pool.acquire() as conn, conn.transaction():
            c = await self._load(conn, connection_id, token, lock=True)
            provider = provider_of(c)
            project = await repo.project_config(conn, c.project_id)
            desired = domain.desired_config(provider, c.requested_data_types, c.sync_config, project)
            previous, now = c.status, self.connections.clock()
            if c.status not in domain.CONNECTABLE:
                raise LinkInvalid(f"This connection is {c.status} and cannot be connected from this page.", 409)
            if c.status == "CONNECTED" and not domain.missing_scopes(provider, desired, c.granted_scopes):
                return _finish(c, "success")
            if provider.auth_type != "oauth2":
                c.status, c.connected_at = "CONNECTED", now
                saved = await repo.save(conn, c)
                await self.connections.emit(conn, saved, previous, "connected", project)
                return _finish(saved, "success")
            scopes = domain.required_scopes(provider, desired)
            if c.status == "CONNECTED":  # asking for more: keep what was granted
                scopes = sorted(set(scopes) | set(c.granted_scopes or []))
            state, verifier, nonce = oauth.new_state(), oauth.new_verifier(), oauth.new_state()
            resume = "AUTH_REQUIRED" if c.status == "CONNECTING" else c.status
            await repo.add_session(
                conn, oauth.state_hash(state), c.id, self.connections.cipher.encrypt(verifier, c.id), scopes, resume,
                now + timedelta(seconds=self.settings.connect_state_ttl_seconds), oauth.state_hash(nonce))
            if c.status in ("AUTH_REQUIRED", "AUTH_ERROR"):
                c.status = "CONNECTING"
                saved = await repo.save(conn, c)
                await self.connections.emit(conn, saved, previous, "connecting", project)
        url = oauth.authorize_url(provider, self.settings, client_id=self.settings.oauth_client_id,
                                  redirect_uri=self.callback_url, scopes=scopes, state=state, verifier=verifier)
        return Outcome(url, "pending", connection_id, cookie=(oauth.browser_cookie(state), nonce))

    async def cancel(self, connection_id: str, token: str) -> Outcome:
        async with self.connections.pool.acquire() as conn, conn.transaction():
            c = await self._load(conn, connection_id, token, lock=True)
            await repo.drop_sessions(conn, c.id)  # a consent page left open can no longer connect
            if c.status == "CONNECTING":
                await self._revert(conn, c, "AUTH_REQUIRED", "cancelled")
        return _finish(c, "abort")

    async def _revert(self, conn: Any, c: Connection, to: str, reason: str) -> None:
        previous = c.status
        c.status = to
        saved = await repo.save(conn, c)
        await self.connections.emit(conn, saved, previous, reason)

    async def callback(self, params: dict[str, str], cookies: dict[str, str]) -> Outcome:
        state = params.get("state") or ""
        if not state:
            raise LinkInvalid("The provider answered without a state: start again from the app.")
        nonce = cookies.get(oauth.browser_cookie(state))
        if not nonce:  # login CSRF: someone else's authorization must not land in this browser
            raise LinkInvalid("This authorization was started in another browser, or cookies are "
                              "blocked. Start again from the app, in this browser.")
        pool, cipher = self.connections.pool, self.connections.cipher
        async with pool.acquire() as conn:
            # Taken (deleted) in its own transaction: a state is good for one callback only.
            session = await repo.take_session(conn, oauth.state_hash(state), oauth.state_hash(nonce))
            now = self.connections.clock()
            if session is None or session["expires_at"] <= now:
                raise LinkInvalid("This authorization has expired, was already used, or was started "
                                  "in another browser. Start again from the app.")
            cid = session["connection_id"]
            c = await repo.get(conn, cid)
            if c is None:
                raise LinkInvalid("This connection no longer exists.", 404)
            code, error = params.get("code"), params.get("error")
            tokens: oauth.TokenSet | None = None
            if code and not error:
                try:
                    tokens = await oauth.exchange_code(
                        self.http, provider_of(c), self.settings, code=code, redirect_uri=self.callback_url,
                        verifier=cipher.decrypt(session["code_verifier"], cid), now=now)
                except oauth.ClientRejected as e:
                    log.error("the provider refused Ferry's OAuth client at the code exchange; "
                              "check its client id and secret", connection_id=cid, error=str(e))
                    error = "token_exchange_failed"
                except (oauth.TokenRejected, oauth.ProviderUnreachable):
                    error = "token_exchange_failed"
            async with conn.transaction():
                c = await repo.get(conn, cid, lock=True)
                if c is None:
                    raise LinkInvalid("This connection no longer exists.", 404)
                if tokens is None:
                    if c.status == "CONNECTING":
                        await self._revert(conn, c, session["resume_status"], "authorization_denied")
                    return _finish(c, "abort", error=error or "access_denied")
                # A disconnect (or a cancel) while the end user was at the provider wins: only
                # CONNECTING (or CONNECTED asking for more scopes) may become CONNECTED.
                if c.status != "CONNECTING" and (c.status, session["resume_status"]) != (
                        "CONNECTED", "CONNECTED"):
                    return _finish(c, "abort", error=f"connection_{c.status.lower()}")
                await repo.put_token(
                    conn, cid, cipher.encrypt(tokens.access_token, cid),
                    cipher.encrypt(tokens.refresh_token, cid) if tokens.refresh_token else None,
                    tokens.expires_at, tokens.scopes or list(session["scopes"]), now)
                previous = c.status
                if previous != "CONNECTED":
                    c.connected_at = now
                c.status = "CONNECTED"
                c.granted_scopes = sorted(tokens.scopes if tokens.scopes is not None else session["scopes"])
                saved = await repo.save(conn, c)
                await self.connections.emit(conn, saved, previous, "reauthorized" if previous == "CONNECTED" else "connected")
        return _finish(saved, "success")

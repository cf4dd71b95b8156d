"""The connect flow: the page's two buttons and the OAuth callback (state, PKCE, code exchange)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from ferry_kit import logging as klog

from . import domain, given, oauth, oauth_flow
from . import repository as repo
from .domain import Conflict, Connection, ModelConfig
from .service import Connections
from .settings import Settings

log = klog.get("ferry.connections.connect")


class LinkInvalid(Exception):
    """The connect link or the callback is not (or no longer) good; shown as an HTML page."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message, self.status = message, status


class CredentialsRefused(Exception):
    """The key or password typed into the page did not pass: the page is shown again, saying why."""


NOT_CONFIGURED = ("The app that sent you here has not finished setting up this provider. "
                  "Ask it to try again later.")


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
    fields: list[dict[str, str]]


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
        provider = self.connections.provider_of(c)
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
        return PageView(c, provider.display_name, desired, connectable, notice,
                        oauth_flow.form_fields(provider))

    async def start(self, connection_id: str, token: str,
                    typed: dict[str, str] | None = None) -> Outcome:
        """Connect: `CONNECTING`, then the provider's consent page (or connected at once)."""
        try:
            return await self._start(connection_id, token, typed or {})
        except Conflict as e:
            if e.code != "integration_not_configured":
                raise
            raise LinkInvalid(NOT_CONFIGURED, 409) from None

    async def _start(self, connection_id: str, token: str, typed: dict[str, str]) -> Outcome:
        async with self.connections.pool.acquire() as conn:
            c = await self._load(conn, connection_id, token)
            provider = self.connections.provider_of(c)
            if provider.auth_type in given.FIELDS:
                return await self._give(conn, c, token, typed)
            async with conn.transaction():
                c = await self._load(conn, connection_id, token, lock=True)
                started = await self._authorize(conn, c)
        if isinstance(started, Outcome):
            return started
        c, scopes, state, verifier, nonce, ends = started
        url = await oauth_flow.authorize_url(provider, c, ends, redirect_uri=self.callback_url,
                                             scopes=scopes, state=state, verifier=verifier)
        return Outcome(url, "pending", connection_id, cookie=(oauth.browser_cookie(state), nonce))

    async def _authorize(self, conn: Any, c: Connection) -> Any:
        """Within the locked transaction: connect at once, or record an authorization."""
        provider = self.connections.provider_of(c)
        project = await repo.project_config(conn, c.project_id)
        desired = domain.desired_config(provider, c.requested_data_types, c.sync_config, project)
        previous, now = c.status, self.connections.clock()
        if c.status not in domain.CONNECTABLE:
            raise LinkInvalid(f"This connection is {c.status} and cannot be connected from this "
                              "page.", 409)
        missing = domain.missing_scopes(provider, desired, c.granted_scopes)
        if c.status == "CONNECTED" and not missing:
            return _finish(c, "success")
        if provider.auth_type != "oauth2":
            c.status, c.connected_at = "CONNECTED", now
            saved = await repo.save(conn, c)
            await self.connections.emit(conn, saved, previous, "connected", project)
            return _finish(saved, "success")
        ends = await self.connections.integrations.endpoints(conn, c)  # 409 without an app
        scopes = sorted(set(domain.required_scopes(provider, desired)) | set(ends.extra_scopes))
        if c.status == "CONNECTED":  # asking for more: keep what was granted
            scopes = sorted(set(scopes) | set(c.granted_scopes or []))
        state, verifier, nonce = oauth.new_state(), oauth.new_verifier(), oauth.new_state()
        resume = "AUTH_REQUIRED" if c.status == "CONNECTING" else c.status
        await repo.add_session(
            conn, oauth.state_hash(state), c.id, self.connections.cipher.encrypt(verifier, c.id),
            scopes, resume, now + timedelta(seconds=self.settings.connect_state_ttl_seconds),
            oauth.state_hash(nonce))
        if c.status in ("AUTH_REQUIRED", "AUTH_ERROR"):
            c.status = "CONNECTING"
            saved = await repo.save(conn, c)
            await self.connections.emit(conn, saved, previous, "connecting", project)
        return c, scopes, state, verifier, nonce, ends

    async def _give(self, conn: Any, c: Connection, token: str, typed: dict[str, str]) -> Outcome:
        """An API key or a username and password typed into the page: checked, then kept."""
        provider = self.connections.provider_of(c)
        if c.status not in ("AUTH_REQUIRED", "CONNECTING", "AUTH_ERROR"):
            raise LinkInvalid(f"This connection is {c.status} and cannot be connected from this "
                              "page.", 409)
        secrets = oauth_flow.typed(provider, typed)
        if secrets is None:
            raise CredentialsRefused("Fill in every field.")
        ends = await self.connections.integrations.endpoints(conn, c)
        refused = await given.verify(self.http, provider, c, ends, secrets)
        if refused:
            raise CredentialsRefused(refused + ". Check them and try again.")
        async with conn.transaction():
            c = await self._load(conn, c.id, token, lock=True)
            if c.status not in ("AUTH_REQUIRED", "CONNECTING", "AUTH_ERROR"):
                return _finish(c, "abort", error=f"connection_{c.status.lower()}")
            previous, c.status = c.status, "CONNECTED"
            c.connected_at = self.connections.clock()
            cipher = self.connections.cipher
            await repo.put_given_secret(conn, c.id, given.seal(cipher, c.id, secrets))
            saved = await repo.save(conn, c)
            await self.connections.emit(conn, saved, previous, "connected")
        return _finish(saved, "success")

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
            tokens, error = await self._exchange(conn, c, params, session, now)
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
                c.connection_config = {**c.connection_config,
                                       **oauth_flow.captured(self.connections.provider_of(c),
                                                             tokens, params)}
                if previous != "CONNECTED":
                    c.connected_at = now
                c.status = "CONNECTED"
                c.granted_scopes = sorted(tokens.scopes if tokens.scopes is not None else session["scopes"])
                saved = await repo.save(conn, c)
                await self.connections.emit(conn, saved, previous, "reauthorized" if previous == "CONNECTED" else "connected")
        return _finish(saved, "success")

    async def _exchange(self, conn: Any, c: Connection, params: dict[str, str], session: Any,
                        now: Any) -> tuple[oauth.TokenSet | None, str | None]:
        """The code for tokens at the provider, with the project's app; or why there are none."""
        code, error = params.get("code"), params.get("error")
        if not code or error:
            return None, error
        provider = self.connections.provider_of(c)
        try:
            ends = await self.connections.integrations.endpoints(conn, c)
            verifier = self.connections.cipher.decrypt(session["code_verifier"], c.id)
            auth: Any = provider.auth
            return await oauth.exchange_code(
                auth, oauth_flow.client(provider, c, ends), code=code,
                redirect_uri=self.callback_url, verifier=verifier, now=now), None
        except oauth.ClientRejected as e:
            log.error("the provider refused the project's OAuth client at the code exchange; "
                      "check its client id and secret", connection_id=c.id, error=str(e))
        except (oauth.TokenRejected, oauth.ProviderUnreachable, Conflict):
            pass
        return None, "token_exchange_failed"

"""The connect flow's handlers: the page's two buttons and the OAuth callback (state, PKCE,
code exchange). Each runs in one unit of work, like those of `handlers.py`."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
from ferry_kit import logging as klog
from ferry_kit.clock import Clock
from ferry_kit.errors import Conflict
from ferry_kit.uow import UnitOfWork

from . import domain, given, integrations, oauth, oauth_flow
from .catalogue import Catalogue, Provider
from .crypto import Cipher
from .domain import (
    Connection,
    ConnectSession,
    CredentialsRefused,
    LinkInvalid,
    NewConnectSession,
    NewToken,
    Outcome,
    finish,
)
from .handlers import save_and_emit
from .integrations import Endpoints
from .links import Links
from .repository import Repository
from .settings import Settings
from .views import linked_connection

log = klog.get("ferry.connections.connect")
Uow = UnitOfWork[Repository]

NOT_CONFIGURED = ("The app that sent you here has not finished setting up this provider. "
                  "Ask it to try again later.")
NO_LONGER = "This connection no longer exists."


def callback_url(settings: Settings) -> str:
    return f"{settings.public_url.rstrip('/')}/oauth/callback"


def _not_connectable(c: Connection) -> LinkInvalid:
    return LinkInvalid(f"This connection is {c.status} and cannot be connected from this page.",
                       409)


async def start_connect(
    uow: Uow, catalogue: Catalogue, cipher: Cipher, links: Links, clock: Clock,
    settings: Settings, http: httpx.AsyncClient, connection_id: str, token: str,
    typed: dict[str, str],
) -> Outcome:
    """Connect: `CONNECTING`, then the provider's consent page (or connected at once)."""
    try:
        c = await linked_connection(uow.repos, links, clock.now(), connection_id, token)
        provider = catalogue.installed(c.provider_name)
        if provider.auth_type in given.FIELDS:
            secrets = await _checked(uow, c, provider, cipher, settings, http, typed)
            return await _give(uow, catalogue, cipher, links, clock, c, token, secrets)
        c = await linked_connection(uow.repos, links, clock.now(), connection_id, token,
                                    lock=True)
        return await _authorize(uow, catalogue, cipher, clock, settings, c, provider)
    except Conflict as e:
        if e.code != "integration_not_configured":
            raise
        raise LinkInvalid(NOT_CONFIGURED, 409) from None


async def _authorize(
    uow: Uow, catalogue: Catalogue, cipher: Cipher, clock: Clock, settings: Settings,
    c: Connection, provider: Provider,
) -> Outcome:
    """Under the connection's lock: connect at once, or record an authorization and send the
    browser to the provider's consent page."""
    project = await uow.repos.project_config(c.project_id)
    desired = domain.desired_config(provider, c.requested_data_types, c.sync_config, project)
    previous, now = c.status, clock.now()
    if c.status not in domain.CONNECTABLE:
        raise _not_connectable(c)
    if c.status == "CONNECTED" and not domain.missing_scopes(provider, desired, c.granted_scopes):
        return finish(c, "success")
    if provider.auth_type != "oauth2":
        c.status, c.connected_at = "CONNECTED", now
        return finish(await save_and_emit(uow, catalogue, c, previous, "connected", project),
                      "success")
    ends = await integrations.endpoints(uow.repos, c, provider, cipher, settings)  # 409: no app
    scopes = sorted(set(domain.required_scopes(provider, desired)) | set(ends.extra_scopes))
    if c.status == "CONNECTED":  # asking for more: keep what was granted
        scopes = sorted(set(scopes) | set(c.granted_scopes or []))
    state, verifier, nonce = oauth.new_state(), oauth.new_verifier(), oauth.new_state()
    await uow.repos.add_session(NewConnectSession(
        connection_id=c.id, code_verifier=cipher.encrypt(verifier, c.id), scopes=scopes,
        resume_status="AUTH_REQUIRED" if c.status == "CONNECTING" else c.status,
        expires_at=now + timedelta(seconds=settings.connect_state_ttl_seconds),
        state_hash=oauth.state_hash(state), browser_hash=oauth.state_hash(nonce)))
    if c.status in ("AUTH_REQUIRED", "AUTH_ERROR"):
        c.status = "CONNECTING"
        await save_and_emit(uow, catalogue, c, previous, "connecting", project)
    url = await oauth_flow.authorize_url(provider, c, ends, redirect_uri=callback_url(settings),
                                         scopes=scopes, state=state, verifier=verifier)
    return Outcome(url, "pending", c.id, cookie=(oauth.browser_cookie(state), nonce))


async def _checked(
    uow: Uow, c: Connection, provider: Provider, cipher: Cipher, settings: Settings,
    http: httpx.AsyncClient, typed: dict[str, str],
) -> dict[str, str]:
    """An API key or a username and password typed into the page, checked at the provider."""
    if c.status not in domain.GIVABLE:
        raise _not_connectable(c)
    secrets = oauth_flow.typed(provider, typed)
    if secrets is None:
        raise CredentialsRefused("Fill in every field.")
    ends = await integrations.endpoints(uow.repos, c, provider, cipher, settings)
    refused = await given.verify(http, provider, c, ends, secrets)
    if refused:
        raise CredentialsRefused(refused + ". Check them and try again.")
    return secrets


async def _give(
    uow: Uow, catalogue: Catalogue, cipher: Cipher, links: Links, clock: Clock, c: Connection,
    token: str, secrets: dict[str, str],
) -> Outcome:
    """Keep checked credentials and connect, unless the connection moved on meanwhile."""
    c = await linked_connection(uow.repos, links, clock.now(), c.id, token, lock=True)
    if c.status not in domain.GIVABLE:
        return finish(c, "abort", error=f"connection_{c.status.lower()}")
    previous, c.status = c.status, "CONNECTED"
    c.connected_at = clock.now()
    await uow.repos.put_given_secret(c.id, given.seal(cipher, c.id, secrets))
    return finish(await save_and_emit(uow, catalogue, c, previous, "connected"), "success")


async def cancel_connect(
    uow: Uow, catalogue: Catalogue, links: Links, clock: Clock, connection_id: str, token: str
) -> Outcome:
    c = await linked_connection(uow.repos, links, clock.now(), connection_id, token, lock=True)
    await uow.repos.drop_sessions(c.id)  # a consent page left open can no longer connect
    if c.status == "CONNECTING":
        await save_and_emit(uow, catalogue, _to(c, "AUTH_REQUIRED"), "CONNECTING", "cancelled")
    return finish(c, "abort")


def _to(c: Connection, status: domain.ConnectionStatus) -> Connection:
    c.status = status
    return c


async def _session(uow: Uow, clock: Clock, params: dict[str, str],
                   cookies: dict[str, str]) -> ConnectSession:
    """The authorization this callback ends, taken: a state is good for one callback only, from
    the browser that started it."""
    state = params.get("state") or ""
    if not state:
        raise LinkInvalid("The provider answered without a state: start again from the app.")
    nonce = cookies.get(oauth.browser_cookie(state))
    if not nonce:  # login CSRF: someone else's authorization must not land in this browser
        raise LinkInvalid("This authorization was started in another browser, or cookies are "
                          "blocked. Start again from the app, in this browser.")
    session = await uow.repos.take_session(oauth.state_hash(state), oauth.state_hash(nonce))
    if session is None or session.expires_at <= clock.now():
        raise LinkInvalid("This authorization has expired, was already used, or was started "
                          "in another browser. Start again from the app.")
    return session


async def oauth_callback(
    uow: Uow, catalogue: Catalogue, cipher: Cipher, clock: Clock, settings: Settings,
    params: dict[str, str], cookies: dict[str, str],
) -> Outcome:
    """The provider's answer: the code exchanged for tokens, and the connection CONNECTED."""
    session = await _session(uow, clock, params, cookies)
    now = clock.now()
    c = await uow.repos.connection(session.connection_id)
    if c is None:
        raise LinkInvalid(NO_LONGER, 404)
    tokens, error = await _exchange(uow, catalogue, cipher, settings, c, params, session, now)
    c = await uow.repos.connection(session.connection_id, lock=True)
    if c is None:
        raise LinkInvalid(NO_LONGER, 404)
    if tokens is None:
        if c.status == "CONNECTING":
            previous = c.status
            await save_and_emit(uow, catalogue, _to(c, session.resume_status), previous,
                                "authorization_denied")
        return finish(c, "abort", error=error or "access_denied")
    # A disconnect (or a cancel) while the end user was at the provider wins: only
    # CONNECTING (or CONNECTED asking for more scopes) may become CONNECTED.
    if c.status != "CONNECTING" and (c.status, session.resume_status) != (
            "CONNECTED", "CONNECTED"):
        return finish(c, "abort", error=f"connection_{c.status.lower()}")
    return finish(await _connected(uow, catalogue, cipher, c, tokens, session, params, now),
                  "success")


async def _connected(
    uow: Uow, catalogue: Catalogue, cipher: Cipher, c: Connection, tokens: oauth.TokenSet,
    session: ConnectSession, params: dict[str, str], now: datetime,
) -> Connection:
    """Keep the tokens (encrypted) and what the provider granted; CONNECTED."""
    await uow.repos.put_token(c.id, NewToken(
        cipher.encrypt(tokens.access_token, c.id),
        cipher.encrypt(tokens.refresh_token, c.id) if tokens.refresh_token else None,
        tokens.expires_at, tokens.scopes or list(session.scopes), now))
    previous = c.status
    provider = catalogue.installed(c.provider_name)
    c.connection_config = {**c.connection_config,
                           **oauth_flow.captured(provider, tokens, params)}
    if previous != "CONNECTED":
        c.connected_at = now
    c.status = "CONNECTED"
    c.granted_scopes = sorted(tokens.scopes if tokens.scopes is not None else session.scopes)
    reason = "reauthorized" if previous == "CONNECTED" else "connected"
    return await save_and_emit(uow, catalogue, c, previous, reason)


async def _exchange(
    uow: Uow, catalogue: Catalogue, cipher: Cipher, settings: Settings, c: Connection,
    params: dict[str, str], session: ConnectSession, now: datetime,
) -> tuple[oauth.TokenSet | None, str | None]:
    """The code for tokens at the provider, with the project's app; or why there are none."""
    code, error = params.get("code"), params.get("error")
    if not code or error:
        return None, error
    provider = catalogue.installed(c.provider_name)
    try:
        ends: Endpoints = await integrations.endpoints(uow.repos, c, provider, cipher, settings)
        verifier = cipher.decrypt(session.code_verifier, c.id)
        return await oauth.exchange_code(
            provider.auth, oauth_flow.client(provider, c, ends),  # type: ignore[arg-type]
            code=code, redirect_uri=callback_url(settings), verifier=verifier, now=now), None
    except oauth.ClientRejected as e:
        log.error("the provider refused the project's OAuth client at the code exchange; "
                  "check its client id and secret", connection_id=c.id, error=str(e))
    except (oauth.TokenRejected, oauth.ProviderUnreachable, Conflict):
        pass
    return None, "token_exchange_failed"

"""The provider-facing steps of a connect: the OAuth authorize URL for a connection, the code
exchange with captures into connection config, and a key or password checked before CONNECTED."""

from __future__ import annotations

from typing import Any

from . import given, oauth
from .catalogue import Provider, render
from .domain import Connection
from .integrations import Endpoints


def client(provider: Provider, c: Connection, ends: Endpoints) -> oauth.Client:
    auth: Any = provider.auth
    return oauth.Client(ends.client_id, ends.client_secret,
                        render(auth.token_url, ends.values(c)))


async def authorize_url(provider: Provider, c: Connection, ends: Endpoints, *, redirect_uri: str,
                        scopes: list[str], state: str, verifier: str) -> str:
    auth: Any = provider.auth
    return await oauth.authorize_url(
        auth, client(provider, c, ends), render(auth.authorize_url, ends.values(c)),
        redirect_uri=redirect_uri, scopes=scopes, state=state, verifier=verifier)


def captured(provider: Provider, tokens: oauth.TokenSet, query: dict[str, str]) -> dict[str, Any]:
    """Connection config values the definition captures from the token answer or the callback."""
    out: dict[str, Any] = {}
    for capture in getattr(provider.auth, "capture", []):
        source = tokens.raw if capture.source == "token_response" else query
        value = oauth.dig(source, capture.path)
        if isinstance(value, str | int) and not isinstance(value, bool):
            out[capture.field] = value
    return out


def form_fields(provider: Provider) -> list[dict[str, str]]:
    """What the connect page asks an end user for (API key, username and password)."""
    auth: Any = provider.auth
    if auth.type == "api_key":
        return [{"name": "api_key", "label": auth.label, "type": "password",
                 "help": auth.help or ""}]
    if auth.type == "basic":
        return [{"name": "username", "label": auth.username_label, "type": "text", "help": ""},
                {"name": "password", "label": auth.password_label, "type": "password",
                 "help": auth.help or ""}]
    return []


def typed(provider: Provider, values: dict[str, str]) -> dict[str, str] | None:
    """The credentials typed into the form; None when a field is empty."""
    names = given.FIELDS.get(provider.auth_type, ())
    out = {n: values.get(n, "") for n in names}
    return out if names and all(v.strip() for v in out.values()) else None

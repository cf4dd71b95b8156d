"""Credentials an end user (or the customer) gives: API keys and HTTP Basic; and how every auth
style is sent to the provider (headers and query parameters rendered from the definition)."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
from ferry_kit import logging as klog

from .catalogue import Provider, render
from .crypto import Cipher
from .domain import Connection, Invalid
from .integrations import Endpoints

log = klog.get("ferry.connections.given")
FIELDS = {"api_key": ("api_key",), "basic": ("username", "password")}


def check(provider: Provider, given: dict[str, Any] | None) -> dict[str, str] | None:
    """The credentials given at creation, checked (422 naming the field); None when not given."""
    if given is None:
        return None
    names = FIELDS.get(provider.auth_type)
    if names is None:
        raise Invalid("this provider takes no credentials", [
            {"field": "credentials", "message": f"{provider.name} uses {provider.auth_type}"}])
    details = [{"field": f"credentials.{n}", "message": "is required"}
               for n in names if not isinstance(given.get(n), str) or not given[n].strip()]
    details += [{"field": f"credentials.{k}", "message": "unknown field"}
                for k in given if k not in names]
    if details:
        raise Invalid("invalid credentials", details)
    return {n: given[n].strip() if n != "password" else given[n] for n in names}


def seal(cipher: Cipher, cid: str, secrets: dict[str, str]) -> bytes:
    return cipher.encrypt(json.dumps(secrets), cid)


def unseal(cipher: Cipher, cid: str, blob: bytes) -> dict[str, str]:
    return json.loads(cipher.decrypt(blob, cid))


def sending(provider: Provider, c: Connection, ends: Endpoints, secrets: dict[str, str],
            ) -> tuple[dict[str, str], dict[str, str]]:
    """The headers and query parameters that carry the connection's credentials."""
    auth = provider.auth
    values = ends.values(c, **secrets)
    if auth.type == "basic":
        pair = f"{secrets.get('username', '')}:{secrets.get('password', '')}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}, {}
    headers = {k: render(v, values) for k, v in getattr(auth, "header", {}).items()}
    params = {k: render(v, values) for k, v in getattr(auth, "query", {}).items()}
    return headers, params


async def verify(http: httpx.AsyncClient, provider: Provider, c: Connection, ends: Endpoints,
                 secrets: dict[str, str]) -> str | None:
    """None when the declared check passes (or none is declared), else why it did not."""
    check_ = provider.definition.verify
    if check_ is None:
        return None
    headers, params = sending(provider, c, ends, secrets)
    url = ends.api_base_url + render(check_.path, ends.values(c))
    try:
        resp = await http.request(check_.method, url, headers=headers, params=params)
    except httpx.HTTPError as e:
        log.info("the provider could not be reached to check credentials", error=type(e).__name__)
        return f"{provider.display_name} could not be reached to check them; try again later"
    if resp.status_code in (401, 403):
        return f"{provider.display_name} refused these credentials ({resp.status_code})"
    if resp.status_code >= 400:
        return f"{provider.display_name} answered {resp.status_code} when checking them"
    return None

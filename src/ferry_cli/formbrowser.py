"""A tiny HTML-form client: enough to click through Ferry's connect page and a provider's consent
page from a script (the demo and the tests), the way an end user's browser would."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from functools import cache
from html.parser import HTMLParser
from urllib.parse import urljoin

import httpx


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (name, value)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(a.get("action", ""), a.get("method", "get").lower()))
        elif not self.forms:
            return
        elif tag == "input" and a.get("name"):
            if a.get("type") in ("submit", "button"):
                self.forms[-1].buttons[a.get("id") or a["name"]] = (a["name"], a.get("value", ""))
            elif a.get("type") not in ("checkbox", "radio") or "checked" in a:
                self.forms[-1].fields[a["name"]] = a.get("value", "")
        elif tag == "button":
            key = a.get("id") or a.get("value") or a.get("name", "")
            self.forms[-1].buttons[key] = (a.get("name", ""), a.get("value", ""))


def forms(html: str) -> list[Form]:
    parser = _Parser()
    parser.feed(html)
    return parser.forms


@cache
def _tls() -> ssl.SSLContext:
    """httpx's default TLS context, loaded once: as a browser, which has its CAs loaded already."""
    return httpx.create_ssl_context()


class FormBrowser:
    """Follows redirects and submits forms by button id, keeping cookies; stops at `stop_prefix`."""

    def __init__(self, stop_prefix: str | None = None, timeout: float = 30.0) -> None:
        self.client = httpx.AsyncClient(follow_redirects=False, timeout=timeout, verify=_tls())
        self.stop_prefix = stop_prefix
        self.url = ""
        self.page: httpx.Response | None = None

    async def close(self) -> None:
        await self.client.aclose()

    async def open(self, url: str) -> httpx.Response:
        return await self._follow(await self.client.get(url))

    async def click(self, button_id: str, **values: str) -> httpx.Response:
        assert self.page is not None
        for form in forms(self.page.text):
            if button_id in form.buttons:
                data = {**form.fields, **values}
                name, value = form.buttons[button_id]
                if name:
                    data[name] = value
                target = urljoin(self.url, form.action or self.url)
                if form.method == "post":
                    resp = await self.client.post(target, data=data)
                else:
                    resp = await self.client.get(target, params=data)
                return await self._follow(resp)
        raise LookupError(f"no button #{button_id} on {self.url}")

    async def _follow(self, resp: httpx.Response) -> httpx.Response:
        for _ in range(20):
            self.url = str(resp.url)
            if resp.status_code not in (301, 302, 303, 307, 308):
                break
            location = urljoin(str(resp.url), resp.headers["location"])
            if self.stop_prefix and location.startswith(self.stop_prefix):
                self.url = location
                break
            resp = await self.client.get(location)
        self.page = resp
        return resp

"""What every console page shares: the session, the API client, templates and CSRF checks.

The console reads and changes data only through the public `/v1` API, called in process with
the session's own credential: it can do nothing the API would refuse that credential.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import httpx
from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from ..auth import PROJECT_HEADER
from . import session as sessions

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")


class SignInNeeded(Exception):
    """No valid session: the handler answers with a redirect to the sign-in page."""


class ApiRefused(Exception):
    def __init__(self, status: int, error: dict[str, Any]) -> None:
        super().__init__(error.get("message", ""))
        self.status, self.error = status, error


class Console:
    def __init__(self, request: Request, session: sessions.Session) -> None:
        self.request, self.session = request, session

    def _client(self) -> httpx.AsyncClient:
        headers = {"authorization": f"Bearer {self.session.credential}"}
        if self.session.kind == "admin" and self.session.project_id:
            headers[PROJECT_HEADER] = self.session.project_id
        transport = httpx.ASGITransport(app=self.request.app)
        return httpx.AsyncClient(transport=transport, base_url="http://console", headers=headers,
                                 timeout=30)

    async def api(self, method: str, url: str, *, json: Any = None,
                  params: dict[str, Any] | None = None) -> Any:
        """Call the public API; a refusal becomes `ApiRefused` with the API's own error."""
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        async with self._client() as client:
            resp = await client.request(method, url, json=json, params=clean)
        if resp.status_code >= 400:
            try:
                error = resp.json().get("error", {})
            except ValueError:
                error = {"code": "error", "message": resp.text[:200]}
            raise ApiRefused(resp.status_code, error)
        return resp.json() if resp.content else None

    def page(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        context.update(csrf=self.session.csrf, session=self.session)
        return templates.TemplateResponse(self.request, name, context, status_code=status)


def _console(request: Request) -> Console:
    session = sessions.current(request)
    if session is None:
        raise SignInNeeded()
    if session.kind == "admin" and not session.project_id and \
            not request.url.path.startswith("/console/projects"):
        raise SignInNeeded()
    return Console(request, session)


async def _checked(request: Request, csrf: Annotated[str, Form()] = "") -> Console:
    console = _console(request)
    if not sessions.same(csrf, console.session.csrf):
        raise ApiRefused(403, {"code": "csrf",
                               "message": "the form's CSRF token is missing or wrong"})
    return console


Page = Annotated[Console, Depends(_console)]
Action = Annotated[Console, Depends(_checked)]


def back(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)

"""The end user's pages (public; the gateway forwards `/connect/*` and `/oauth/callback` here)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from .connect import ConnectFlow, LinkInvalid, Outcome
from .settings import Settings

_pages = Environment(loader=PackageLoader("ferry_connections", "templates"), autoescape=select_autoescape())
# Pages carry a signed link and lead to an authorization: never cached, never framed.
_HEADERS = {"cache-control": "no-store", "x-frame-options": "DENY", "referrer-policy": "no-referrer"}
_TITLES = {"success": "Connected", "abort": "Not connected", "pending": "Connecting"}


def _html(template: str, http_status: int = 200, **values: object) -> HTMLResponse:
    return HTMLResponse(_pages.get_template(template).render(**values), http_status, headers=_HEADERS)


def _error(exc: LinkInvalid) -> HTMLResponse:
    return _html("result.html", exc.status, title="Something went wrong", result="error", message=exc.message)


def _go(outcome: Outcome, code: int = 302) -> Response:
    if outcome.url is not None:
        return RedirectResponse(outcome.url, code, headers=_HEADERS)
    message = {"success": "Your account is connected.",
               "abort": "The connection was not made." + (f" ({outcome.message})" if outcome.message else "")}
    return _html("result.html", title=_TITLES[outcome.status], result=outcome.status,
                 message=message.get(outcome.status, ""))


def _bind(resp: Response, outcome: Outcome, settings: Settings) -> Response:
    """The cookie that ties an authorization to this browser: sent back to the callback only,
    also on the provider's top-level redirect (Lax), never readable by scripts."""
    if outcome.cookie is not None:
        name, nonce = outcome.cookie
        public = urlsplit(settings.public_url)
        resp.set_cookie(name, nonce, max_age=settings.connect_state_ttl_seconds,
                        path=public.path.rstrip("/") + "/oauth/callback",
                        secure=public.scheme == "https", httponly=True, samesite="lax")
    return resp


def create_router(flow: ConnectFlow) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/connect/{connection_id}")
    async def page(connection_id: str, t: str = "") -> Response:
        try:
            view = await flow.page(connection_id, t)
        except LinkInvalid as e:
            return _error(e)
        c = view.connection
        return _html("connect.html", provider=view.provider_display_name, models=view.models,
                     show_permissions=not c.skip_permissions, connectable=view.connectable, notice=view.notice,
                     token=t, action=f"/connect/{connection_id}")

    @router.post("/connect/{connection_id}")
    async def decide(connection_id: str, request: Request,
                     action: Annotated[str, Form()] = "", t: Annotated[str, Form()] = "") -> Response:
        try:
            if action == "connect":
                outcome = await flow.start(connection_id, t)
                return _bind(_go(outcome, 303), outcome, flow.settings)  # POST → GET
            if action == "cancel":
                return _go(await flow.cancel(connection_id, t), 303)
        except LinkInvalid as e:
            return _error(e)
        return _error(LinkInvalid("Choose Connect or Cancel."))

    @router.get("/oauth/callback")
    async def callback(request: Request) -> Response:
        try:
            return _go(await flow.callback(dict(request.query_params), request.cookies))
        except LinkInvalid as e:
            return _error(e)

    return router

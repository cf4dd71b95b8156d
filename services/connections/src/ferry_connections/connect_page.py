"""The end user's pages (public; the gateway forwards `/connect/*` and `/oauth/callback` here)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from . import views
from .connect import cancel_connect, oauth_callback, start_connect
from .domain import CredentialsRefused, LinkInvalid, Outcome
from .handlers import Commands
from .settings import Settings

_pages = Environment(loader=PackageLoader("ferry_connections", "templates"),
                     autoescape=select_autoescape())
# Pages carry a signed link and lead to an authorization: never cached, never framed.
_HEADERS = {"cache-control": "no-store", "x-frame-options": "DENY",
            "referrer-policy": "no-referrer"}
_TITLES = {"success": "Connected", "abort": "Not connected", "pending": "Connecting"}


def _html(template: str, http_status: int = 200, **values: object) -> HTMLResponse:
    page = _pages.get_template(template).render(**values)
    return HTMLResponse(page, http_status, headers=_HEADERS)


def _error(exc: LinkInvalid) -> HTMLResponse:
    return _html("result.html", exc.status, title="Something went wrong", result="error",
                 message=exc.message)


def _go(outcome: Outcome, code: int = 302) -> Response:
    if outcome.url is not None:
        return RedirectResponse(outcome.url, code, headers=_HEADERS)
    why = f" ({outcome.message})" if outcome.message else ""
    message = {"success": "Your account is connected.",
               "abort": "The connection was not made." + why}
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


def create_router(read: views.Reader, run: Commands, ctx: views.Context) -> APIRouter:
    """The page and its buttons call one view or one handler each."""
    router = APIRouter(include_in_schema=False)

    async def show(connection_id: str, t: str, refused: str = "") -> Response:
        try:
            view = await views.connect_page(read, ctx, connection_id, t)
        except LinkInvalid as e:
            return _error(e)
        c = view.connection
        return _html("connect.html", 400 if refused else 200, provider=view.provider_display_name,
                     models=view.models, show_permissions=not c.skip_permissions,
                     connectable=view.connectable, notice=refused or view.notice,
                     fields=view.fields, refused=bool(refused), token=t,
                     action=f"/connect/{connection_id}")

    @router.get("/connect/{connection_id}")
    async def page(connection_id: str, t: str = "") -> Response:
        return await show(connection_id, t)

    @router.post("/connect/{connection_id}")
    async def decide(connection_id: str, request: Request,
                     action: Annotated[str, Form()] = "",
                     t: Annotated[str, Form()] = "") -> Response:
        try:
            if action == "connect":
                form = await request.form()
                typed = {k: str(form.get(k, "")) for k in ("api_key", "username", "password")}
                outcome = await run(start_connect, connection_id=connection_id, token=t,
                                    typed=typed)
                return _bind(_go(outcome, 303), outcome, ctx.settings)  # POST → GET
            if action == "cancel":
                return _go(await run(cancel_connect, connection_id=connection_id, token=t), 303)
        except CredentialsRefused as e:
            return await show(connection_id, t, str(e))
        except LinkInvalid as e:
            return _error(e)
        return _error(LinkInvalid("Choose Connect or Cancel."))

    @router.get("/oauth/callback")
    async def callback(request: Request) -> Response:
        try:
            outcome = await run(oauth_callback, params=dict(request.query_params),
                                cookies=request.cookies)
            return _go(outcome)
        except LinkInvalid as e:
            return _error(e)

    return router

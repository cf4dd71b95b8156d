"""The console at `/console`: Ferry's dashboard, a client of the public API like any other."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from . import connections, records, signin, sync, webhooks
from . import session as sessions
from .web import HERE, ApiRefused, SignInNeeded, templates


def install(app: FastAPI) -> None:
    root = APIRouter(include_in_schema=False)

    @root.get("/console")
    async def home() -> Response:
        return RedirectResponse("/console/connections", status_code=303)

    app.include_router(root)
    for module in (signin, sync, connections, records, webhooks):
        app.include_router(module.router, include_in_schema=False)
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")

    @app.exception_handler(SignInNeeded)
    async def _sign_in(request: Request, _: SignInNeeded) -> Response:
        session = sessions.current(request)
        target = "/console/projects" if session and session.kind == "admin" else "/console/login"
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(ApiRefused)
    async def _refused(request: Request, exc: ApiRefused) -> Response:
        """The API's refusal, shown as it is: the console never works around one."""
        session = sessions.current(request)
        return templates.TemplateResponse(
            request, "refused.html",
            {"status": exc.status, "error": exc.error, "session": session,
             "csrf": session.csrf if session else ""},
            status_code=exc.status)

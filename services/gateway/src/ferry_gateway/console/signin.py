"""Signing in and out, and (with the admin token) picking a project."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from ..auth import _is_admin
from ..domain import SECRET_KEY_PREFIX
from . import session as sessions
from .web import Action, Page, back, templates

router = APIRouter()


def _login_page(request: Request, error: str | None = None, status: int = 200) -> HTMLResponse:
    token = sessions.login_token()
    response = templates.TemplateResponse(request, "login.html", {"error": error, "csrf": token},
                                          status_code=status)
    sessions.store_login_token(request, response, token)
    return response


@router.get("/console/login")
async def login_page(request: Request) -> Response:
    return _login_page(request)


@router.post("/console/login")
async def login(request: Request, credential: Annotated[str, Form()] = "",
                csrf: Annotated[str, Form()] = "") -> Response:
    if not sessions.same(csrf, request.cookies.get(sessions.LOGIN_CSRF_COOKIE)):
        return _login_page(request, "The form expired; sign in again.", 403)
    credential = credential.strip()
    if _is_admin(request, credential):
        session = sessions.new("admin", credential)
        target = "/console/projects"
    elif credential.startswith(SECRET_KEY_PREFIX) and \
            await request.app.state.projects.by_secret_key(credential):
        session = sessions.new("key", credential)
        target = "/console/connections"
    else:
        return _login_page(request, "That is not a valid secret key or admin token.", 401)
    response = back(target)
    sessions.store(response, request, session)
    response.delete_cookie(sessions.LOGIN_CSRF_COOKIE, path="/console")
    return response


@router.post("/console/logout")
async def logout(console: Action) -> Response:
    response = back("/console/login")
    sessions.store(response, console.request, None)
    return response


@router.get("/console/projects")
async def projects(console: Page) -> Response:
    if console.session.kind != "admin":
        return back("/console/connections")
    listed = await console.api("GET", "/v1/projects")
    return console.page("projects.html", projects=listed["data"])


@router.post("/console/projects")
async def pick_project(console: Action, project_id: Annotated[str, Form()]) -> Response:
    if console.session.kind != "admin":
        return back("/console/connections")
    listed = await console.api("GET", "/v1/projects")
    if project_id not in {p["project_id"] for p in listed["data"]}:
        return back("/console/projects")
    response = back("/console/connections")
    sessions.store(response, console.request, console.session.with_project(project_id))
    return response

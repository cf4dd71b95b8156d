"""Who is calling: a project (secret key) or one of its end users (a JWT signed by the project)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from ferry_kit.errors import ApiError

from .domain import PROJECT_ID, SECRET_KEY_PREFIX, Project, audience


@dataclass(frozen=True)
class Principal:
    project: Project
    user_id: str | None = None  # set for end-user tokens

    @property
    def is_end_user(self) -> bool:
        return self.user_id is not None

    def require_server(self) -> None:
        if self.is_end_user:
            raise ApiError(403, "forbidden", "this call needs the project's secret key")

    def require_user(self, user_id: str) -> None:
        if self.is_end_user and user_id != self.user_id:
            raise ApiError(403, "forbidden",
                           "an end-user token reaches only its own user's resources")


def _unauthorized(code: str, message: str) -> ApiError:
    return ApiError(401, code, message)


def _audiences(token: str) -> list[str]:
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise _unauthorized("invalid_token",
                            f"the bearer token is not a valid key or JWT: {exc}") from exc
    aud = claims.get("aud")
    if isinstance(aud, str):
        return [aud]
    if isinstance(aud, list):
        return [a for a in aud if isinstance(a, str)]
    return []


PROJECT_HEADER = "ferry-project"


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _is_admin(request: Request, token: str) -> bool:
    expected = request.app.state.settings.admin_token
    return hmac.compare_digest(token.encode(), expected.encode())


def require_admin(request: Request) -> None:
    """Operator calls: `Authorization: Bearer <FERRY_ADMIN_TOKEN>`."""
    token = _bearer(request)
    if not token:
        raise ApiError(401, "missing_token", "send Authorization: Bearer <FERRY_ADMIN_TOKEN>")
    if not _is_admin(request, token):
        raise ApiError(401, "invalid_token", "the admin token is not valid")


async def _as_admin(request: Request) -> Principal:
    """The admin token acts as the project named by the Ferry-Project header."""
    project_id = request.headers.get(PROJECT_HEADER, "")
    if not PROJECT_ID.fullmatch(project_id):
        raise _unauthorized("missing_project",
                            f"with the admin token, send {PROJECT_HEADER}: <project_id>")
    project = await request.app.state.projects.get(project_id)
    if project is None:
        raise ApiError(404, "not_found", f"no project {project_id}")
    return Principal(project)


async def authenticate(request: Request) -> Principal:
    token = _bearer(request)
    if not token:
        raise _unauthorized("missing_token",
                            "send Authorization: Bearer <secret key or end-user token>")
    projects = request.app.state.projects
    if _is_admin(request, token):
        return await _as_admin(request)
    if token.startswith(SECRET_KEY_PREFIX):
        project = await projects.by_secret_key(token)
        if project is None:
            raise _unauthorized("invalid_token", "unknown or revoked secret key")
        return Principal(project)
    host = request.app.state.settings.public_host
    prefix = f"{host}/"
    # Only well-formed project ids are looked up: an audience is attacker-chosen text.
    candidates = [a[len(prefix):] for a in _audiences(token)
                  if a.startswith(prefix) and PROJECT_ID.fullmatch(a[len(prefix):])]
    if not candidates:
        raise _unauthorized("invalid_audience",
                            f"the token's aud must contain \"{host}/<project_id>\"")
    project = await _first_project(projects, candidates)
    if project is None:
        raise _unauthorized("invalid_audience",
                            "the token's audience names no project of this instance")
    claims = _verify(token, project, host)
    return Principal(project, user_id=str(claims["sub"]))


async def _first_project(projects: Any, candidates: list[str]) -> Project | None:
    for project_id in candidates:
        project: Project | None = await projects.get(project_id)
        if project is not None:
            return project
    return None


def _verify(token: str, project: Project, host: str) -> dict[str, Any]:
    try:
        return jwt.decode(
            token,
            project.signing_key,
            algorithms=["HS256"],
            audience=audience(host, project.id),
            options={"require": ["exp", "sub", "aud"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise _unauthorized("token_expired", "the end-user token has expired") from exc
    except jwt.InvalidAudienceError as exc:
        raise _unauthorized("invalid_audience", "the token's audience does not match") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise _unauthorized("invalid_token", f"the token lacks the {exc.claim!r} claim") from exc
    except jwt.PyJWTError as exc:
        raise _unauthorized("invalid_token", f"invalid end-user token: {exc}") from exc


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]

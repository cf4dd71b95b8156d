"""One error model for every Ferry HTTP API.

Every 4xx/5xx answers `{"error": {"code", "message", "details": [{"field", "message", "type"}]}}`.
Field paths are written `models[0].data_model`: names joined by dots, list indexes in brackets.
Use cases raise the exceptions below; `install(app)` turns them (and FastAPI's own validation and
HTTP errors) into that body.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypedDict

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import logging as klog

log = klog.get("ferry.errors")

_LOCATIONS = ("body", "query", "path", "header", "cookie")
CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
         422: "validation_error", 429: "rate_limited", 500: "internal_error"}


class Detail(TypedDict, total=False):
    field: str
    message: str
    type: str


class ApiError(Exception):
    """An error with its HTTP status, a stable code and field details; the base of the others."""

    def __init__(
        self, status: int, code: str, message: str, details: Sequence[Detail] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details: list[Detail] = list(details or [])
        self.headers = headers  # e.g. `retry-after` on a 429


class NotFound(ApiError):
    def __init__(self, message: str, code: str = "not_found") -> None:
        super().__init__(404, code, message)


class Conflict(ApiError):
    """409: the request does not fit the resource's current state."""

    def __init__(
        self, message: str, code: str = "conflict", details: Sequence[Detail] | None = None
    ) -> None:
        super().__init__(409, code, message, details)


class Invalid(ApiError):
    """422 with the fields at fault."""

    def __init__(self, message: str, details: Sequence[Detail] = ()) -> None:
        super().__init__(422, "validation_error", message, details)


class Unauthorized(ApiError):
    def __init__(self, message: str, code: str = "unauthorized") -> None:
        super().__init__(401, code, message)


class Forbidden(ApiError):
    def __init__(self, message: str, code: str = "forbidden") -> None:
        super().__init__(403, code, message)


def detail(field: str, message: str, type: str = "value_error") -> Detail:
    return {"field": field, "message": message, "type": type}


def field_path(loc: Sequence[int | str]) -> str:
    """`("body", "models", 0, "data_model")` → `models[0].data_model`."""
    out = ""
    for part in (str(p) for p in loc if p not in _LOCATIONS):
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out or ".".join(str(p) for p in loc)


def body(code: str, message: str, details: Sequence[Detail] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": list(details or [])}}


def response(exc: ApiError) -> JSONResponse:
    return JSONResponse(body(exc.code, exc.message, exc.details), status_code=exc.status,
                        headers=exc.headers)


def validation_details(errors: Sequence[Any]) -> list[Detail]:
    """pydantic's errors as details, with our field paths."""
    return [detail(field_path(tuple(e["loc"])), e["msg"], e["type"]) for e in errors]


async def _api(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return response(exc)


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = validation_details(exc.errors())
    fields = ", ".join(d["field"] for d in details)
    return JSONResponse(body("validation_error", f"invalid input: {fields}", details), 422)


async def _http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = CODES.get(exc.status_code, "error")
    return JSONResponse(body(code, str(exc.detail)), status_code=exc.status_code,
                        headers=exc.headers)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", path=request.url.path)
    return JSONResponse(body("internal_error", "an internal error occurred"), status_code=500)


def install(app: FastAPI) -> None:
    """Answer every error of `app` in the one shape."""
    app.add_exception_handler(ApiError, _api)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)

"""Composition root of the sandbox provider: `create_app(settings)` builds the ASGI app."""

from __future__ import annotations

import time
from collections.abc import Callable

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from .routes import admin, data, oauth
from .settings import Settings
from .state import ApiError, Sandbox, invalid, json_response


def create_app(settings: Settings, clock: Callable[[], float] = time.time) -> FastAPI:
    """`clock` (seconds since the epoch) drives record stamps and token expiry; tests may pass a
    fake."""
    app = FastAPI(title="Ferry sandbox provider", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sandbox = Sandbox.build(settings, clock)
    app.include_router(data.router)
    app.include_router(oauth.router)
    app.include_router(admin.router)

    @app.get("/healthz")
    async def healthz() -> Response:
        return json_response({"status": "ok"})

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> Response:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> Response:
        details = [
            {
                "field": ".".join(str(p) for p in e["loc"][1:]) or str(e["loc"][0]),
                "message": e["msg"],
            }
            for e in exc.errors()
        ]
        return invalid(details).response()

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "invalid_request")
        return ApiError(exc.status_code, code, str(exc.detail), headers=exc.headers).response()

    return app

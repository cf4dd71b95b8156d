"""The public HTTP API (`/v1`), OpenAPI at `/docs`."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from ferry_contracts.internal import UnsafePath
from ferry_kit import errors
from pydantic import ValidationError

from . import console
from .limits import MAX_BODY_BYTES, MAX_WRITE_BACK_BYTES, BodyGuard
from .routes import (
    catalogue,
    connect,
    connections,
    integrations,
    projects,
    records,
    syncs,
    webhooks,
)


def create_api(max_body_bytes: int = MAX_BODY_BYTES,
               write_back_bytes: int = MAX_WRITE_BACK_BYTES) -> FastAPI:
    app = FastAPI(
        title="Ferry",
        version="0.1.0",
        description="Ferry keeps your users' third-party data in sync: connections, sync config, "
        "sync jobs, records with cursors, write-back and signed webhooks.",
        # A path is exact: "/x/%2F" must be a 404, not a redirect to a path built from it.
        redirect_slashes=False,
    )
    errors.install(app)
    app.add_exception_handler(UnsafePath, _no_such_resource)
    app.add_exception_handler(ValidationError, _bad_upstream)
    app.add_middleware(BodyGuard, max_bytes=max_body_bytes, write_back_bytes=write_back_bytes)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    for module in (projects, catalogue, integrations, connections, syncs, records, webhooks,
                   connect):
        app.include_router(module.router)
    console.install(app)
    _document_body_limits(app, max_body_bytes, write_back_bytes)
    return app


async def _no_such_resource(_: Request, exc: Exception) -> JSONResponse:
    """A piece of an internal URL that cannot be one (`..`): no such resource."""
    return errors.response(errors.NotFound("no such resource"))


async def _bad_upstream(_: Request, exc: Exception) -> JSONResponse:
    """An internal answer that does not fit its contract (request bodies fail before this)."""
    return errors.response(errors.ApiError(
        502, "bad_upstream", "a Ferry service answered with something unexpected"))


def _document_body_limits(app: FastAPI, max_body_bytes: int, write_back_bytes: int) -> None:
    """Every operation that takes a body answers 413 past its limit: say so in the spec."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            for where, operations in build()["paths"].items():
                for op in operations.values():
                    if "requestBody" not in op:
                        continue
                    write_back = where.startswith("/v1/connections/{connection_id}/records/")
                    limit = min(write_back_bytes, max_body_bytes) if write_back else max_body_bytes
                    op["responses"]["413"] = {
                        "description": f"The request body is over {limit} bytes "
                        "(error code payload_too_large)",
                    }
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

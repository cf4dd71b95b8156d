"""The connections service's HTTP app: internal routes (guarded) and the public connect pages."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from ferry_contracts.values import Access, Frequency
from ferry_kit import internal
from ferry_kit import logging as klog
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from .connect import ConnectFlow
from .connect_page import create_router
from .credentials import Credentials, Misconfigured, Unavailable
from .domain import Conflict, Invalid
from .service import Connections, NotFound

log = klog.get("ferry.connections.api")

_URL = r"^https?://[^\s\x00-\x1f\x7f/?#]+(/[^\s\x00-\x1f\x7f?#]*)?$"


class ModelConfigIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data_model: str = Field(min_length=1)
    frequency: Frequency = "DAILY"
    interval_minutes: int | None = Field(None, ge=1)
    access: Access = "READ"


class ProjectSyncConfigIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data_models: list[ModelConfigIn] = []
    full_sync_interval_hours: int = Field(24, ge=1, le=24 * 31)
    record_events_on_initial_sync: bool = False
    allowed_return_origins: list[str] = Field([], max_length=100)


class ConnectionModelConfigIn(ModelConfigIn):
    sync_from: date | None = None


class ConnectionSyncConfigIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data_models: list[ConnectionModelConfigIn]


class ConnectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider_name: str = Field(min_length=1)
    requested_data_types: list[str] = Field(min_length=1)
    skip_permissions: bool = False
    return_url: str | None = Field(None, max_length=2048, pattern=r"^https?://[^\s\x00-\x1f\x7f]+$")
    sync_config: ConnectionSyncConfigIn | None = None
    connection_config: dict[str, str | int] | None = None
    credentials: dict[str, str] | None = Field(None, repr=False)


class IntegrationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_id: str | None = Field(None, min_length=1, max_length=1024)
    client_secret: str | None = Field(None, min_length=1, max_length=4096, repr=False)
    scopes: list[str] = Field([], max_length=200)
    api_base_url: str | None = Field(None, max_length=2048, pattern=_URL)
    auth_base_url: str | None = Field(None, max_length=2048, pattern=_URL)


class RefreshBody(BaseModel):
    """The token the provider refused (as its SHA-256 hex), so only a still-current one is refreshed."""

    model_config = ConfigDict(extra="forbid")

    rejected_token_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")


class ConnectionPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["DISCONNECTED", "AUTH_REQUIRED"] | None = None
    requested_data_types: list[str] | None = Field(None, min_length=1)
    sync_config: ConnectionSyncConfigIn | None = None


def _error(status: int, code: str, message: str, details: list[Any] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "details": details or []}}, status_code=status)


def _field(loc: tuple[Any, ...]) -> str:
    out = ""
    for p in (str(p) for p in loc if p not in ("body", "query", "path", "header")):
        out += f"[{p}]" if p.isdigit() else (f".{p}" if out else p)
    return out or ".".join(str(p) for p in loc)


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(NotFound)
    async def _not_found(_: Request, exc: NotFound) -> JSONResponse:
        return _error(404, "not_found", str(exc))

    @app.exception_handler(Conflict)
    async def _conflict(_: Request, exc: Conflict) -> JSONResponse:
        return _error(409, exc.code, exc.message, exc.details)

    @app.exception_handler(Invalid)
    async def _invalid(_: Request, exc: Invalid) -> JSONResponse:
        return _error(422, "validation_error", exc.message, exc.details)

    @app.exception_handler(Unavailable)
    async def _unavailable(_: Request, exc: Unavailable) -> JSONResponse:
        return _error(503, "provider_unavailable", f"the provider's token endpoint failed: {exc}")

    @app.exception_handler(Misconfigured)
    async def _misconfigured(_: Request, exc: Misconfigured) -> JSONResponse:
        message = f"the provider refused the project's OAuth client (check its integration): {exc}"
        return _error(502, "provider_auth_config", message)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [{"field": _field(tuple(e["loc"])), "message": e["msg"], "type": e["type"]} for e in exc.errors()]
        return _error(422, "validation_error", "invalid input: " + ", ".join(d["field"] for d in details), details)

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        codes = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed"}
        return _error(exc.status_code, codes.get(exc.status_code, "error"), str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", path=request.url.path)
        return _error(500, "internal_error", "an internal error occurred")


def _integration_routes(api: Any, connections: Connections) -> None:
    where = "/projects/{project_id}/integrations"

    @api.get(where)
    async def list_integrations(project_id: str) -> Any:
        return await connections.integrations.list(project_id)

    @api.put(where + "/{provider}")
    async def put_integration(project_id: str, provider: str, body: IntegrationIn) -> Any:
        return await connections.integrations.put(project_id, provider, body.model_dump())

    @api.get(where + "/{provider}")
    async def get_integration(project_id: str, provider: str) -> Any:
        return await connections.integrations.get(project_id, provider)

    @api.delete(where + "/{provider}", status_code=204)
    async def delete_integration(project_id: str, provider: str) -> Response:
        await connections.integrations.delete(project_id, provider)
        return Response(status_code=204)


def create_api(connections: Connections, flow: ConnectFlow, credentials: Credentials, token: str) -> FastAPI:
    app = FastAPI(title="Ferry connections", docs_url=None, redoc_url=None, openapi_url=None)
    _install_errors(app)
    api = internal.router(token)
    app.include_router(create_router(flow))

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/providers")
    async def providers(project_id: str = "") -> Any:
        configured = await connections.integrations.configured(project_id) if project_id else set()
        return connections.providers(configured)

    _integration_routes(api, connections)

    @api.get("/projects/{project_id}/sync-config")
    async def get_sync_config(project_id: str) -> Any:
        return await connections.project_config(project_id)

    @api.put("/projects/{project_id}/sync-config")
    async def put_sync_config(project_id: str, body: ProjectSyncConfigIn) -> Any:
        return await connections.put_project_config(project_id, body.model_dump(mode="json"))

    @api.post("/projects/{project_id}/users/{user_id}/connections", status_code=201)
    async def create(project_id: str, user_id: str, body: ConnectionIn) -> Any:
        return await connections.create(project_id, user_id, body.model_dump(mode="json"))

    @api.get("/projects/{project_id}/users/{user_id}/connections")
    async def list_connections(project_id: str, user_id: str) -> Any:
        return await connections.list(project_id, user_id)

    @api.get("/projects/{project_id}/connections/{connection_id}")
    async def get_connection(project_id: str, connection_id: str) -> Any:
        return await connections.get(project_id, connection_id)

    @api.patch("/projects/{project_id}/connections/{connection_id}")
    async def patch(project_id: str, connection_id: str, body: ConnectionPatch) -> Any:
        return await connections.patch(project_id, connection_id, body.model_dump(mode="json", exclude_unset=True))

    @api.delete("/projects/{project_id}/connections/{connection_id}", status_code=204)
    async def delete(project_id: str, connection_id: str) -> Response:
        await connections.delete(project_id, connection_id)
        return Response(status_code=204)

    @api.get("/connections/{connection_id}/credentials")
    async def get_credentials(connection_id: str) -> Any:
        return await credentials.get(connection_id)

    @api.post("/connections/{connection_id}/credentials/refresh")
    async def refresh_credentials(connection_id: str, body: RefreshBody | None = None) -> Any:
        rejected = body.rejected_token_sha256 if body else None
        return await credentials.get(connection_id, force=rejected is None, rejected=rejected)

    app.include_router(api)
    return app

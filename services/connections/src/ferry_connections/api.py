"""The connections service's HTTP app: internal routes (guarded) and the public connect pages.

Each route calls one view (reads) or one handler (run in its own unit of work by `run`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Query, Response
from ferry_kit import internal

from . import handlers, views
from .connect_page import create_router
from .credentials import credentials
from .inputs import (
    ConnectionIn,
    ConnectionPatch,
    IntegrationIn,
    ProjectSyncConfigIn,
    RefreshBody,
)

Json = dict[str, Any]


def _integration_routes(api: APIRouter, read: views.Reader, run: handlers.Commands,
                        ctx: views.Context) -> None:
    where = "/projects/{project_id}/integrations"

    @api.get(where)
    async def list_integrations(project_id: str) -> Json:
        return await views.integrations(read, project_id)

    @api.put(where + "/{provider}")
    async def put_integration(project_id: str, provider: str, body: IntegrationIn) -> Json:
        return await run(handlers.put_integration, project_id=project_id, name=provider,
                         body=body)

    @api.get(where + "/{provider}")
    async def get_integration(project_id: str, provider: str) -> Json:
        return await views.integration(read, ctx.catalogue, project_id, provider)

    @api.delete(where + "/{provider}", status_code=204)
    async def delete_integration(project_id: str, provider: str) -> Response:
        await run(handlers.delete_integration, project_id=project_id, name=provider)
        return Response(status_code=204)


def _project_routes(api: APIRouter, read: views.Reader, run: handlers.Commands,
                    ctx: views.Context) -> None:
    @api.get("/providers")
    async def providers(project_id: str = "") -> list[Json]:
        return await views.providers(read, ctx.catalogue, project_id)

    @api.get("/projects/{project_id}/sync-config")
    async def get_sync_config(project_id: str) -> Json:
        return await views.project_config(read, project_id)

    @api.put("/projects/{project_id}/sync-config")
    async def put_sync_config(project_id: str, body: ProjectSyncConfigIn) -> Json:
        return await run(handlers.put_project_config, project_id=project_id, body=body)

    @api.get("/projects/{project_id}/connections")
    async def search_connections(
        project_id: str, user_id: str | None = None, provider_name: str | None = None,
        status: str | None = None, cursor: str | None = None,
        limit: int = Query(50, ge=1, le=200),
    ) -> Json:
        return await views.search_connections(
            read, ctx, project_id, limit, user_id=user_id, provider_name=provider_name,
            status=status, after=cursor)


def _connection_routes(api: APIRouter, read: views.Reader, run: handlers.Commands,
                       ctx: views.Context) -> None:
    users = "/projects/{project_id}/users/{user_id}/connections"
    one = "/projects/{project_id}/connections/{connection_id}"

    @api.post(users, status_code=201)
    async def create(project_id: str, user_id: str, body: ConnectionIn) -> Json:
        return await run(handlers.create_connection, project_id=project_id, user_id=user_id,
                         body=body)

    @api.get(users)
    async def list_connections(project_id: str, user_id: str) -> Json:
        return await views.user_connections(read, ctx, project_id, user_id)

    @api.get(one + "/status-history")
    async def status_history(project_id: str, connection_id: str) -> Json:
        return await views.status_history(read, project_id, connection_id)

    @api.get(one)
    async def get_connection(project_id: str, connection_id: str) -> Json:
        return await views.connection(read, ctx, project_id, connection_id)

    @api.patch(one)
    async def patch(project_id: str, connection_id: str, body: ConnectionPatch) -> Json:
        return await run(handlers.patch_connection, project_id=project_id,
                         connection_id=connection_id, body=body)

    @api.delete(one, status_code=204)
    async def delete(project_id: str, connection_id: str) -> Response:
        await run(handlers.delete_connection, project_id=project_id,
                  connection_id=connection_id)
        return Response(status_code=204)


def _credential_routes(api: APIRouter, run: handlers.Commands) -> None:
    async def answer(connection_id: str, force: bool, rejected: str | None) -> Json:
        out = await run(credentials, connection_id=connection_id, force=force,
                        rejected=rejected)
        if not isinstance(out, dict):
            raise out.conflict()  # the connection's AUTH_ERROR is committed first
        return out

    @api.get("/connections/{connection_id}/credentials")
    async def get_credentials(connection_id: str) -> Json:
        return await answer(connection_id, False, None)

    @api.post("/connections/{connection_id}/credentials/refresh")
    async def refresh_credentials(connection_id: str, body: RefreshBody | None = None) -> Json:
        rejected = body.rejected_token_sha256 if body else None
        return await answer(connection_id, rejected is None, rejected)


def create_api(read: views.Reader, run: handlers.Commands, ctx: views.Context,
               token: str) -> FastAPI:
    app, api = internal.create_app("Ferry connections", token)
    app.include_router(create_router(read, run, ctx))  # the public connect pages
    _project_routes(api, read, run, ctx)
    _integration_routes(api, read, run, ctx)
    _connection_routes(api, read, run, ctx)
    _credential_routes(api, run)
    app.include_router(api)
    return app

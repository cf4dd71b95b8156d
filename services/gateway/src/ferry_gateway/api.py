"""The public HTTP API (`/v1`), OpenAPI at `/docs`."""

from __future__ import annotations

from fastapi import FastAPI

from . import errors
from .routes import catalogue, connect, connections, projects, records, syncs, webhooks


def create_api() -> FastAPI:
    app = FastAPI(
        title="Ferry",
        version="0.1.0",
        description="Ferry keeps your users' third-party data in sync: connections, sync config, "
        "sync jobs, records with cursors, write-back and signed webhooks.",
    )
    errors.install(app)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    for module in (projects, catalogue, connections, syncs, records, webhooks, connect):
        app.include_router(module.router)
    return app

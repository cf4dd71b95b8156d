"""The executor's internal HTTP API (the gateway proxies the public sync API to it)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Literal

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from ferry_kit import cursor as cursor_text
from ferry_kit import internal
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from . import domain
from . import repository as repo
from .service import Jobs, job_json
from .writeback import WriteBack, WriteBackError


def _error(status: int, code: str, message: str, details: list[Any] | None = None, **headers: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "details": details or []}},
                        status_code=status, headers=headers or None)


class ModelIn(BaseModel):
    data_model: str = Field(min_length=1)
    sync_from: date | None = None


class SyncIn(BaseModel):
    project_id: str | None = None
    provider_name: str = Field(min_length=1)
    full_sync: bool = False
    models: list[ModelIn] = Field(min_length=1)
    trigger: Literal["initial", "schedule", "full_schedule", "manual"] = "manual"


class RecordIn(BaseModel):
    data: dict[str, Any]
    project_id: str | None = None


_JOB_ID = re.compile(r"job_[0-9a-f]{32}")


def _decode(cursor: str) -> str | None:
    value = cursor_text.decode(cursor)
    return value if value is not None and _JOB_ID.fullmatch(value) else None


def create_api(jobs: Jobs, writeback: WriteBack, token: str) -> FastAPI:
    app = FastAPI(title="Ferry executor (internal)", docs_url=None, redoc_url=None,
                  openapi_url=None)
    api = internal.router(token)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [{"field": ".".join(str(p) for p in e["loc"] if p not in ("body", "query", "path")),
                    "message": e["msg"]} for e in exc.errors()]
        return _error(422, "validation_error", "invalid input", details)

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        return _error(exc.status_code, "unauthorized" if exc.status_code == 401 else "error", str(exc.detail))

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @api.post("/connections/{connection_id}/syncs", status_code=202)
    async def request_sync(connection_id: str, body: SyncIn) -> Any:
        rows = await jobs.request(
            connection_id=connection_id, project_id=body.project_id, provider_name=body.provider_name,
            models=[(m.data_model, m.sync_from) for m in body.models], full_sync=body.full_sync,
            trigger=body.trigger, is_one_off=body.trigger == "manual",
        )
        return JSONResponse([job_json(r) for r in rows], status_code=202)

    @api.get("/connections/{connection_id}/syncs")
    async def list_syncs(
        connection_id: str, status: str | None = None, data_model: str | None = None,
        limit: int = Query(50, ge=1, le=200), cursor: str | None = None,
    ) -> Any:
        before = None
        if cursor:
            before = _decode(cursor)
            if before is None:
                return _error(422, "validation_error", "invalid cursor", [{"field": "cursor", "message": "not a cursor from this API"}])
        if status is not None and status not in (*domain.ACTIVE, *domain.TERMINAL):
            return _error(422, "validation_error", f"unknown status {status}", [{"field": "status", "message": "unknown status"}])
        async with jobs.pool.acquire() as conn:
            rows = await repo.list_jobs(conn, connection_id, status=status,
                                        data_model=data_model.upper() if data_model else None,
                                        limit=limit + 1, before_id=before)
        more = len(rows) > limit
        rows = rows[:limit]
        return {"data": [job_json(r) for r in rows], "next_cursor": cursor_text.encode(rows[-1]["id"]) if more else None}

    @api.get("/syncs/{job_id}")
    async def get_sync(job_id: str) -> Any:
        async with jobs.pool.acquire() as conn:
            row = await repo.get_job(conn, job_id)
        if row is None:
            return _error(404, "not_found", f"no sync job {job_id}")
        return {**job_json(row), "project_id": row["project_id"]}

    @api.post("/syncs/{job_id}/cancel")
    async def cancel_sync(job_id: str) -> Any:
        before = None
        async with jobs.pool.acquire() as conn:
            before = await repo.get_job(conn, job_id)
        if before is None:
            return _error(404, "not_found", f"no sync job {job_id}")
        if before["status"] in domain.TERMINAL:
            return _error(409, "invalid_transition", f"the job is already {before['status']}",
                          [{"field": "status", "message": before["status"]}])
        row = await jobs.cancel(job_id)
        return job_json(row)

    @api.get("/connections/{connection_id}/jobs-summary")
    async def summary(connection_id: str) -> Any:
        async with jobs.pool.acquire() as conn:
            rows = await repo.summary(conn, connection_id)
        return {"data_models": [
            {"data_model": r["data_model"], "status": r["status"], "last_status": r["last_status"],
             "last_error": r["last_error"], "last_synced_at": r["last_synced_at"].isoformat() if r["last_synced_at"] else None}
            for r in rows
        ]}

    async def _write(connection_id: str, data_model: str, body: RecordIn, record_id: str | None) -> Any:
        try:
            out = await writeback.write(connection_id, body.project_id, data_model.upper(), body.data, record_id)
        except WriteBackError as e:
            headers = {"retry-after": str(max(1, int(e.retry_after)))} if e.retry_after is not None else {}
            return _error(e.status, e.code, e.message, **headers)
        return JSONResponse(out, status_code=201 if record_id is None else 200)

    @api.post("/connections/{connection_id}/records/{data_model}")
    async def create_record(connection_id: str, data_model: str, body: RecordIn) -> Any:
        return await _write(connection_id, data_model, body, None)

    @api.patch("/connections/{connection_id}/records/{data_model}/{record_id}")
    async def update_record(connection_id: str, data_model: str, record_id: str, body: RecordIn) -> Any:
        return await _write(connection_id, data_model, body, record_id)

    app.include_router(api)
    return app

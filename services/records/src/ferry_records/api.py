"""The records service's internal HTTP API (the gateway proxies the public records API to it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from ferry_kit import internal
from starlette.exceptions import HTTPException

from . import domain
from . import repository as repo
from .service import Records


def _error(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    details = [{"field": field, "message": message}] if field else []
    return JSONResponse({"error": {"code": code, "message": message, "details": details}}, status_code=status)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _bool(value: str | None, field: str) -> bool | None | JSONResponse:
    if value is None or value == "":
        return None
    lowered = value.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    return _error(422, "validation_error", f"{field} must be true or false", field)


def _record_view(r: asyncpg.Record, versions: list[asyncpg.Record]) -> dict[str, Any]:
    """A record with its versions: the first as seen, then each update's changed fields."""
    history: list[dict[str, Any]] = [{"version": 1, "action": "created",
                                      "recorded_at": _iso(r["first_seen_at"]), "changes": {}}]
    history += [{"version": i + 2, "action": "updated", "recorded_at": _iso(v["recorded_at"]),
                 "cursor": domain.encode_cursor(v["position"]), "changes": v["changes"]}
                for i, v in enumerate(versions)]
    return {
        "id": r["record_id"], "data": r["data"],
        "_ferry": {"action": r["action"], "first_seen_at": _iso(r["first_seen_at"]),
                   "modified_at": _iso(r["modified_at"]), "deleted_at": _iso(r["deleted_at"]),
                   "cursor": domain.encode_cursor(r["position"]), "version": r["version"]},
        "versions": history,
    }


def create_api(records: Records, token: str) -> FastAPI:
    app = FastAPI(title="Ferry records (internal)", docs_url=None, redoc_url=None,
                  openapi_url=None)
    pool: asyncpg.Pool = records.pool
    api = internal.router(token)

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        return _error(exc.status_code, "unauthorized" if exc.status_code == 401 else "error", str(exc.detail))

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/connections/{connection_id}/records/{data_model}")
    async def list_records(
        connection_id: str, data_model: str, cursor: str | None = None, limit: str | None = None,
        modified_after: str | None = None, include_deleted: str | None = None,
    ) -> Any:
        after = 0
        if cursor:
            decoded = domain.decode_cursor(cursor)
            if decoded is None:
                return _error(422, "validation_error", "cursor is not a cursor this API returned", "cursor")
            after = decoded
        size = 100
        if limit not in (None, ""):
            if not limit.isdigit() or not 1 <= int(limit) <= 1000:
                return _error(422, "validation_error", "limit must be an integer from 1 to 1000", "limit")
            size = int(limit)
        since = None
        if modified_after:
            since = domain.provider_time(modified_after)
            if since is None:
                return _error(422, "validation_error", "modified_after must be an RFC 3339 time", "modified_after")
        deleted = _bool(include_deleted, "include_deleted")
        if isinstance(deleted, JSONResponse):
            return deleted
        # Following a cursor means "what changed since": deletions are changes too.
        with_deleted = deleted if deleted is not None else cursor is not None
        async with pool.acquire() as conn:
            rows = await repo.page_of_changes(conn, connection_id, data_model.upper(), after=after, limit=size + 1,
                                              include_deleted=with_deleted, modified_after=since)
        more = len(rows) > size
        rows = rows[:size]
        last = rows[-1]["position"] if rows else after
        return {
            "records": [{
                "id": r["record_id"],
                "data": r["data"],
                "_ferry": {"action": r["action"], "first_seen_at": _iso(r["first_seen_at"]),
                           "modified_at": _iso(r["modified_at"]), "deleted_at": _iso(r["deleted_at"]),
                           "cursor": domain.encode_cursor(r["position"])},
            } for r in rows],
            "next_cursor": domain.encode_cursor(last),
            "has_more": more,
        }

    @api.get("/connections/{connection_id}/records/{data_model}/{record_id}")
    async def get_record(connection_id: str, data_model: str, record_id: str) -> Any:
        async with pool.acquire() as conn:
            r, versions = await repo.record_with_versions(conn, connection_id, data_model.upper(),
                                                          record_id)
        if r is None:
            return _error(404, "not_found", f"no record {record_id} in {data_model.upper()}")
        return _record_view(r, versions)

    @api.get("/connections/{connection_id}/sync-state")
    async def sync_state(connection_id: str) -> Any:
        async with pool.acquire() as conn:
            rows = await repo.model_states(conn, connection_id)
        return {"data_models": [
            {"data_model": r["data_model"], "last_synced_at": _iso(r["last_synced_at"]), "last_status": r["last_status"],
             "last_error": r["last_error"], "held_deletions": r["held_deletions"]} for r in rows
        ]}

    @api.post("/connections/{connection_id}/records/{data_model}/deletions/confirm")
    async def confirm(connection_id: str, data_model: str) -> Any:
        return {"deleted": await records.confirm_deletions(connection_id, data_model)}

    app.include_router(api)
    return app

"""The webhooks service's internal HTTP API (the gateway proxies /v1/webhook-* here)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
from fastapi import FastAPI, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from ferry_kit import cursor as cursor_text
from ferry_kit import internal
from pydantic import BaseModel, ConfigDict, Field

from . import domain
from . import repository as repo
from .delivery import Deliverer
from .service import InvalidInput, Webhooks


class EndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2048)
    event_types: list[str] | None = None
    description: str | None = Field(None, max_length=500)
    ordered: bool = True


class EndpointPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool


class ReplayFailedIn(BaseModel):
    since: datetime | None = None


def _error(status: int, code: str, message: str, details: list[dict[str, Any]] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "details": details or []}}, status_code=status)


def _not_found(what: str) -> JSONResponse:
    return _error(404, "not_found", f"{what} not found")


def _iso(t: datetime | None) -> str | None:
    return t.isoformat().replace("+00:00", "Z") if t else None


def endpoint_json(r: asyncpg.Record, with_secret: bool = False) -> dict[str, Any]:
    out = {
        "id": r["id"], "url": r["url"], "description": r["description"], "event_types": list(r["event_types"]),
        "enabled": r["enabled"], "ordered": r["ordered"], "created_at": _iso(r["created_at"]),
        "disabled_at": _iso(r["disabled_at"]), "disabled_reason": r["disabled_reason"],
    }
    if with_secret:
        out["secret"] = r["secret"]
    return out


def message_json(r: asyncpg.Record, attempts: list[asyncpg.Record]) -> dict[str, Any]:
    import orjson

    return {
        "id": r["id"], "endpoint_id": r["endpoint_id"], "event_type": r["event_type"], "type": r["event_type"],
        "status": r["status"], "connection_id": r["connection_id"], "created_at": _iso(r["created_at"]),
        "delivered_at": _iso(r["delivered_at"]),
        "next_attempt_at": _iso(r["next_attempt_at"]) if r["status"] in ("pending", "retrying") else None,
        "attempt_count": r["attempt_count"], "payload": orjson.loads(r["body"]),
        "attempts": [{"attempted_at": _iso(a["attempted_at"]), "response_status": a["response_status"],
                      "latency_ms": round(a["latency_ms"], 2), "error": a["error"],
                      "response_excerpt": a["response_excerpt"]} for a in attempts],
    }


def _cursor(seq: int) -> str:
    return cursor_text.encode_position("seq", seq)


def _uncursor(cursor: str) -> int | None:
    return cursor_text.decode_position(cursor, "seq")


def create_api(webhooks: Webhooks, deliverer: Deliverer | None, pool: asyncpg.Pool, token: str) -> FastAPI:
    app = FastAPI(title="Ferry webhooks (internal)", docs_url=None, redoc_url=None,
                  openapi_url=None)
    api = internal.router(token)
    base = "/projects/{project_id}"

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = []
        for e in exc.errors():
            loc = [p for p in e["loc"] if p not in ("body", "query", "path")]
            field = ""
            for p in loc:
                field += f"[{p}]" if isinstance(p, int) else (f".{p}" if field else str(p))
            details.append({"field": field, "message": e["msg"]})
        return _error(422, "validation_error", "invalid input", details)

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        code = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "error")
        return _error(exc.status_code, code, str(exc.detail))

    @app.exception_handler(InvalidInput)
    async def _invalid(_: Request, exc: InvalidInput) -> JSONResponse:
        return _error(422, "validation_error", exc.message, [{"field": exc.field, "message": exc.message}])

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @api.post(base + "/webhook-endpoints", status_code=201)
    async def create_endpoint(project_id: str, body: EndpointIn) -> Any:
        row = await webhooks.create_endpoint(project_id, body.url, body.event_types, body.description, body.ordered)
        return JSONResponse(endpoint_json(row, with_secret=True), status_code=201)

    @api.get(base + "/webhook-endpoints")
    async def list_endpoints(project_id: str) -> Any:
        async with pool.acquire() as conn:
            rows = await repo.endpoints(conn, project_id)
        return {"data": [endpoint_json(r) for r in rows]}

    @api.get(base + "/webhook-endpoints/{endpoint_id}")
    async def get_endpoint(project_id: str, endpoint_id: str) -> Any:
        async with pool.acquire() as conn:
            row = await repo.endpoint(conn, project_id, endpoint_id)
        return endpoint_json(row) if row else _not_found("webhook endpoint")

    @api.delete(base + "/webhook-endpoints/{endpoint_id}", status_code=204,
                response_class=Response, response_model=None)
    async def delete_endpoint(project_id: str, endpoint_id: str) -> Any:
        async with pool.acquire() as conn:
            done = await repo.delete_endpoint(conn, project_id, endpoint_id)
        return Response(status_code=204) if done else _not_found("webhook endpoint")

    @api.patch(base + "/webhook-endpoints/{endpoint_id}")
    async def patch_endpoint(project_id: str, endpoint_id: str, body: EndpointPatch) -> Any:
        async with pool.acquire() as conn:
            row = await repo.set_enabled(conn, project_id, endpoint_id, body.enabled)
        return endpoint_json(row) if row else _not_found("webhook endpoint")

    @api.post(base + "/webhook-endpoints/{endpoint_id}/rotate-secret")
    async def rotate_secret(project_id: str, endpoint_id: str) -> Any:
        row = await webhooks.rotate_secret(project_id, endpoint_id)
        return {"id": row["id"], "secret": row["secret"]} if row else _not_found("webhook endpoint")

    @api.post(base + "/webhook-endpoints/{endpoint_id}/replay-failed")
    async def replay_failed(project_id: str, endpoint_id: str, body: ReplayFailedIn | None = None) -> Any:
        async with pool.acquire() as conn, conn.transaction():
            if await repo.endpoint(conn, project_id, endpoint_id) is None:
                return _not_found("webhook endpoint")
            n = await repo.replay_failed(conn, endpoint_id, body.since if body else None)
        if deliverer:
            deliverer.wake()
        return {"replayed": n}

    @api.get(base + "/webhook-messages")
    async def list_messages(
        project_id: str, endpoint_id: str | None = None, event_type: str | None = None,
        status: str | None = None, limit: int = Query(50, ge=1, le=200), cursor: str | None = None,
    ) -> Any:
        if event_type is not None and event_type not in domain.EVENT_TYPES:
            return _error(422, "validation_error", "unknown event type",
                          [{"field": "event_type", "message": f"one of {', '.join(domain.EVENT_TYPES)}"}])
        if status is not None and status not in domain.STATUSES:
            return _error(422, "validation_error", "unknown status",
                          [{"field": "status", "message": f"one of {', '.join(domain.STATUSES)}"}])
        before = None
        if cursor:
            before = _uncursor(cursor)
            if before is None:
                return _error(422, "validation_error", "invalid cursor", [{"field": "cursor", "message": "invalid cursor"}])
        async with pool.acquire() as conn:
            rows = await repo.messages(conn, project_id, endpoint_id=endpoint_id, event_type=event_type,
                                       status=status, before_seq=before, limit=limit + 1)
            page = rows[:limit]
            attempts = await repo.attempts(conn, [r["id"] for r in page])
        by_message: dict[str, list[asyncpg.Record]] = {}
        for a in attempts:
            by_message.setdefault(a["message_id"], []).append(a)
        return {"data": [message_json(r, by_message.get(r["id"], [])) for r in page],
                "next_cursor": _cursor(page[-1]["seq"]) if len(rows) > limit else None}

    @api.post(base + "/webhook-messages/{message_id}/replay", status_code=202)
    async def replay_message(project_id: str, message_id: str) -> Any:
        async with pool.acquire() as conn, conn.transaction():
            done = await repo.replay_message(conn, project_id, message_id)
        if done is None:
            return _not_found("webhook message")
        if deliverer:
            deliverer.wake()
        return JSONResponse({"id": message_id, "replayed": done}, status_code=202)

    app.include_router(api)
    return app

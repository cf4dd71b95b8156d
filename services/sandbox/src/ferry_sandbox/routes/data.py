"""The provider's data API, `/api/{model}`: what a connector calls with an access token."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response

from ..oauth import Grant
from ..state import ApiError, Sandbox, SandboxDep, bearer, invalid, json_response
from ..store import (
    Collection,
    InvalidValue,
    Key,
    decode_cursor,
    encode_cursor,
    normalise_model,
    parse_since,
)

router = APIRouter(prefix="/api")


async def _admit(
    request: Request, sandbox: Sandbox, model_name: str, write: bool
) -> tuple[str, Grant]:
    """The checks of every data request, in the order a real API applies them."""
    model = normalise_model(model_name)
    faults = sandbox.faults
    if faults.latency_ms > 0:
        await asyncio.sleep(faults.latency_ms / 1000)
    token = bearer(request)
    grant = sandbox.auth.authenticate(token) if token else None
    sandbox.stats.api_request(grant.account if grant else None)
    if grant is None or token is None:
        raise ApiError(
            401,
            "invalid_token",
            "the access token is missing, unknown, expired or revoked",
            headers={"www-authenticate": 'Bearer error="invalid_token"'},
        )
    if model is None:
        raise ApiError(404, "not_found", f"no data model {model_name!r}")
    if faults.rate_limit_per_second > 0:
        wait = sandbox.limiter.take(token, faults.rate_limit_per_second)
        if wait is not None:
            raise ApiError(
                429,
                "rate_limited",
                "too many requests for this access token",
                headers={"retry-after": str(wait)},
            )
    scope = f"{model}.{'write' if write else 'read'}"
    if scope not in grant.scopes:
        raise ApiError(
            403,
            "insufficient_scope",
            f"this token lacks the scope {scope}",
            headers={"www-authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'},
        )
    if faults.error_rate > 0 and sandbox.rng.random() < faults.error_rate:
        raise ApiError(500, "server_error", "injected failure (faults.error_rate)")
    return model, grant


def _collection(sandbox: Sandbox, model: str, grant: Grant) -> Collection:
    return sandbox.store.collection(grant.account, model)


def _limit(raw: str | None, sandbox: Sandbox) -> int:
    settings = sandbox.settings
    if raw is None or raw == "":
        return settings.default_page_size
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= settings.max_page_size:
        raise InvalidValue("limit", f"must be an integer from 1 to {settings.max_page_size}")
    return value


def _page_query(
    sandbox: Sandbox, limit: str | None, cursor: str | None, updated_since: str | None
) -> tuple[int, Key | None, str | None]:
    """The parsed query of a list request; 422 naming every bad parameter at once."""
    problems: list[dict[str, str]] = []
    page_size, after, since = sandbox.settings.default_page_size, None, None
    try:
        page_size = _limit(limit, sandbox)
    except InvalidValue as e:
        problems.append({"field": e.field, "message": e.message})
    try:
        after = decode_cursor(cursor) if cursor else None
    except InvalidValue as e:
        problems.append({"field": e.field, "message": e.message})
    try:
        since = parse_since(updated_since) if updated_since else None
    except InvalidValue as e:
        problems.append({"field": e.field, "message": e.message})
    if problems:
        raise invalid(problems)
    return page_size, after, since


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        raise invalid([{"field": "body", "message": "must be a JSON object of record fields"}])
    return body


@router.get("/{model}")
async def list_records(
    model: str,
    request: Request,
    sandbox: SandboxDep,
    limit: str | None = None,
    cursor: str | None = None,
    updated_since: str | None = None,
) -> Response:
    name, grant = await _admit(request, sandbox, model, write=False)
    page_size, after, since = _page_query(sandbox, limit, cursor, updated_since)
    rows, last = _collection(sandbox, name, grant).page(limit=page_size, after=after, since=since)
    return json_response({"results": rows, "next_cursor": encode_cursor(last) if last else None})


@router.post("/{model}")
async def create_record(model: str, request: Request, sandbox: SandboxDep) -> Response:
    name, grant = await _admit(request, sandbox, model, write=True)
    fields = await _json_object(request)
    return json_response(_collection(sandbox, name, grant).create(fields), 201)


def _found(record: dict[str, Any] | None, name: str, record_id: str) -> Response:
    if record is None:
        raise ApiError(404, "not_found", f"no {name} record {record_id!r}")
    return json_response(record)


@router.get("/{model}/{record_id}")
async def get_record(model: str, record_id: str, request: Request, sandbox: SandboxDep) -> Response:
    name, grant = await _admit(request, sandbox, model, write=False)
    return _found(_collection(sandbox, name, grant).get(record_id), name, record_id)


@router.patch("/{model}/{record_id}")
async def update_record(
    model: str, record_id: str, request: Request, sandbox: SandboxDep
) -> Response:
    name, grant = await _admit(request, sandbox, model, write=True)
    fields = await _json_object(request)
    return _found(_collection(sandbox, name, grant).update(record_id, fields), name, record_id)


@router.delete("/{model}/{record_id}")
async def delete_record(
    model: str, record_id: str, request: Request, sandbox: SandboxDep
) -> Response:
    name, grant = await _admit(request, sandbox, model, write=True)
    if not _collection(sandbox, name, grant).delete(record_id):
        raise ApiError(404, "not_found", f"no {name} record {record_id!r}")
    return Response(status_code=204)

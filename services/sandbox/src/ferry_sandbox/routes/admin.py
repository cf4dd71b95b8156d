"""Control of the sandbox for demos, tests and benchmarks: `/_admin/...` with the admin token."""

from __future__ import annotations

import secrets
from typing import Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field, field_validator

from ..state import ApiError, SandboxDep, bearer, invalid, json_response
from ..store import MODELS, InvalidValue, normalise_model


def _require_admin(request: Request, sandbox: SandboxDep) -> None:
    token = bearer(request)
    if token is None or not secrets.compare_digest(
        token.encode(), sandbox.settings.admin_token.encode()
    ):
        raise ApiError(
            401,
            "unauthorized",
            "the sandbox admin token is required",
            headers={"www-authenticate": "Bearer"},
        )


router = APIRouter(prefix="/_admin", dependencies=[Depends(_require_admin)])


class _ModelBody(BaseModel):
    model: str

    @field_validator("model")
    @classmethod
    def _known(cls, value: str) -> str:
        model = normalise_model(value)
        if model is None:
            raise ValueError(f"must be one of {', '.join(MODELS)}")
        return model


class SeedBody(_ModelBody):
    count: int = Field(ge=0, le=2_000_000)


class MutateBody(_ModelBody):
    create: int = Field(0, ge=0, le=100_000)
    update: int = Field(0, ge=0, le=100_000)
    delete: int = Field(0, ge=0, le=100_000)


class FaultsBody(BaseModel):
    rate_limit_per_second: float | None = Field(None, ge=0)
    error_rate: float | None = Field(None, ge=0, le=1)
    latency_ms: int | None = Field(None, ge=0, le=60_000)
    token_error: Literal[
        "", "invalid_grant", "invalid_client", "unauthorized_client", "server_error"
    ] | None = None


class AccountBody(BaseModel):
    account: str | None = None


@router.post("/accounts/{account}/seed")
async def seed(account: str, body: SeedBody, sandbox: SandboxDep) -> Response:
    total = sandbox.store.seed(account, body.model, body.count)
    return json_response({"model": body.model, "count": body.count, "total": total})


@router.post("/accounts/{account}/mutate")
async def mutate(account: str, body: MutateBody, sandbox: SandboxDep) -> Response:
    try:
        created, updated, deleted = sandbox.store.mutate(
            account, body.model, body.create, body.update, body.delete
        )
    except InvalidValue as e:
        raise invalid([{"field": e.field, "message": e.message}]) from e
    return json_response({"created": created, "updated": updated, "deleted": deleted})


@router.get("/accounts/{account}/records/{model}")
async def records(account: str, model: str, sandbox: SandboxDep) -> Response:
    name = normalise_model(model)
    if name is None:
        raise ApiError(404, "not_found", f"no data model {model!r}")
    return json_response({"records": sandbox.store.collection(account, name).all()})


@router.get("/stats")
async def stats(sandbox: SandboxDep, account: str | None = None) -> Response:
    return json_response(sandbox.stats.report(account))


@router.put("/faults")
async def faults(body: FaultsBody, sandbox: SandboxDep) -> Response:
    for name, value in body.model_dump(exclude_none=True).items():
        setattr(sandbox.faults, name, value)
    return json_response(sandbox.faults.as_dict())


@router.get("/faults")
async def current_faults(sandbox: SandboxDep) -> Response:
    return json_response(sandbox.faults.as_dict())


@router.post("/tokens/revoke")
async def revoke(sandbox: SandboxDep, body: AccountBody | None = None) -> Response:
    return json_response({"revoked_grants": sandbox.auth.revoke(body.account if body else None)})


@router.post("/tokens/expire")
async def expire(sandbox: SandboxDep, body: AccountBody | None = None) -> Response:
    return json_response(
        {"expired_access_tokens": sandbox.auth.expire_access(body.account if body else None)}
    )


@router.post("/reset")
async def reset(sandbox: SandboxDep) -> Response:
    sandbox.reset()
    return json_response({"status": "reset"})

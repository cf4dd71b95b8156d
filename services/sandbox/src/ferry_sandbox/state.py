"""The sandbox's in-memory state, shared by the routes, and its JSON error responses."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import orjson
from fastapi import Depends, Request, Response

from .faults import Faults, RateLimiter
from .oauth import AuthServer
from .settings import Settings
from .stats import Stats
from .store import Store


@dataclass
class Sandbox:
    settings: Settings
    store: Store
    auth: AuthServer
    faults: Faults = field(default_factory=Faults)
    limiter: RateLimiter = field(default_factory=RateLimiter)
    stats: Stats = field(default_factory=Stats)
    rng: random.Random = field(default_factory=random.Random)  # for injected errors

    @classmethod
    def build(cls, settings: Settings, clock: Callable[[], float] = time.time) -> Sandbox:
        return cls(
            settings,
            Store(clock),
            AuthServer(settings.access_token_ttl_seconds, clock),
            limiter=RateLimiter(clock),
        )

    def reset(self) -> None:
        self.store.reset()
        self.auth.reset()
        self.faults = Faults()
        self.limiter.reset()
        self.stats.reset()


def get_sandbox(request: Request) -> Sandbox:
    return request.app.state.sandbox


SandboxDep = Annotated[Sandbox, Depends(get_sandbox)]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    # orjson directly: FastAPI's encoder is the slowest part of a 1,000-record page.
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )


class ApiError(Exception):
    """Rendered as `{"error": code, "error_description": message, "details"?}`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        details: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers, self.details = headers, details

    def response(self) -> Response:
        body: dict[str, Any] = {"error": self.code, "error_description": self.message}
        if self.details:
            body["details"] = self.details
        return json_response(body, self.status, self.headers)


def invalid(details: list[dict[str, str]]) -> ApiError:
    fields = ", ".join(d["field"] for d in details)
    return ApiError(422, "invalid_request", f"invalid value for: {fields}", details=details)


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None

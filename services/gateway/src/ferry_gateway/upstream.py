"""Calls to the services that own the data; the gateway never reads another schema."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from fastapi import Response
from fastapi.responses import JSONResponse
from ferry_kit import internal

from .errors import ApiError
from .settings import Settings


@dataclass
class Upstreams:
    connections: httpx.AsyncClient
    scheduler: httpx.AsyncClient
    executor: httpx.AsyncClient
    records: httpx.AsyncClient
    webhooks: httpx.AsyncClient

    @classmethod
    def build(cls, settings: Settings) -> Upstreams:
        def make(url: str) -> httpx.AsyncClient:
            return internal.client(url, settings.internal_token, settings.proxy_timeout_seconds)

        return cls(
            connections=make(settings.connections_url),
            scheduler=make(settings.scheduler_url),
            executor=make(settings.executor_url),
            records=make(settings.records_url),
            webhooks=make(settings.webhooks_url),
        )

    async def close(self) -> None:
        for c in (self.connections, self.scheduler, self.executor, self.records, self.webhooks):
            await c.aclose()


def path(*segments: str) -> str:
    """An upstream path from pieces, each percent-encoded as exactly one segment.

    Route patterns already refuse odd ids; this is the second wall: a piece can never add a
    segment, climb out of one (`..`) or end up empty, whatever a route lets through.
    """
    for s in segments:
        if s in ("", ".", ".."):
            raise ApiError(404, "not_found", "no such resource")
    return "/" + "/".join(quote(s, safe="") for s in segments)


async def call(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    *,
    json: Any = None,
    params: dict[str, Any] | None = None,
) -> httpx.Response:
    clean = {k: v for k, v in (params or {}).items() if v is not None}
    try:
        return await client.request(method, path, json=json, params=clean)
    except httpx.TimeoutException as exc:
        raise ApiError(504, "upstream_timeout", "a Ferry service did not answer in time") from exc
    except httpx.HTTPError as exc:
        raise ApiError(503, "service_unavailable", "a Ferry service is unavailable; retry shortly") from exc


def relay(resp: httpx.Response) -> Response:
    """Pass an internal answer through: status and JSON body as they are."""
    if resp.status_code == 204 or not resp.content:
        return Response(status_code=resp.status_code)
    try:
        payload = resp.json()
    except ValueError:
        raise ApiError(502, "bad_upstream", "a Ferry service answered with something that is not JSON") from None
    return JSONResponse(payload, status_code=resp.status_code)


def ok_json(resp: httpx.Response) -> Any:
    """The JSON body of a 2xx answer; any other answer is raised as the same error to the caller."""
    if resp.status_code >= 400:
        try:
            err = resp.json().get("error", {})
        except (ValueError, AttributeError):
            err = {}
        status = resp.status_code if resp.status_code < 500 else 502
        raise ApiError(status, err.get("code", "error"), err.get("message", resp.text[:200]), err.get("details"))
    return resp.json() if resp.content else None

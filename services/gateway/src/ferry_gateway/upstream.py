"""Calls to the services that own the data; the gateway never reads another schema.

Routes speak to each service through its typed client (`ferry_contracts.internal`), here given
an httpx transport; every internal URL is built by `path`, one encoded segment per piece.
"""

from __future__ import annotations

import json as jsonlib
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import Response
from fastapi.responses import JSONResponse
from ferry_contracts.internal import Reply, UnsafePath
from ferry_contracts.internal import path as _path
from ferry_contracts.internal.base import Params
from ferry_contracts.internal.connections import ConnectionsClient
from ferry_contracts.internal.executor import ExecutorClient
from ferry_contracts.internal.records import RecordsClient
from ferry_contracts.internal.scheduler import SchedulerClient
from ferry_contracts.internal.webhooks import WebhooksClient
from ferry_kit import internal
from ferry_kit.errors import ApiError, NotFound

from .settings import Settings


@dataclass(frozen=True)
class Clients:
    """One typed client per service."""

    connections: ConnectionsClient
    scheduler: SchedulerClient
    executor: ExecutorClient
    records: RecordsClient
    webhooks: WebhooksClient


@dataclass
class Upstreams:
    connections: httpx.AsyncClient
    scheduler: httpx.AsyncClient
    executor: httpx.AsyncClient
    records: httpx.AsyncClient
    webhooks: httpx.AsyncClient
    clients: Clients = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.clients = Clients(
            connections=ConnectionsClient(HttpTransport(self.connections)),
            scheduler=SchedulerClient(HttpTransport(self.scheduler)),
            executor=ExecutorClient(HttpTransport(self.executor)),
            records=RecordsClient(HttpTransport(self.records)),
            webhooks=WebhooksClient(HttpTransport(self.webhooks)),
        )

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


class HttpTransport:
    """`ferry_contracts.internal.Transport` over one service's httpx client."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def send(
        self, method: str, path: str, *, json: Any = None, params: Params | None = None
    ) -> Reply:
        resp = await call(self._client, method, path, json=json, params=params)
        return Reply(resp.status_code, resp.content)

    async def fetch(
        self, method: str, path: str, *, json: Any = None, params: Params | None = None
    ) -> Any:
        return ok_json(await call(self._client, method, path, json=json, params=params))


def path(*segments: str) -> str:
    """`ferry_contracts.internal.path`, refusing a bad piece as the gateway's 404."""
    try:
        return _path(*segments)
    except UnsafePath:
        raise NotFound("no such resource") from None


async def call(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    *,
    json: Any = None,
    params: Params | None = None,
) -> httpx.Response:
    clean = {k: v for k, v in (params or {}).items() if v is not None}
    try:
        return await client.request(method, path, json=json, params=clean)
    except httpx.TimeoutException as exc:
        raise ApiError(504, "upstream_timeout", "a Ferry service did not answer in time") from exc
    except httpx.HTTPError as exc:
        raise ApiError(503, "service_unavailable",
                       "a Ferry service is unavailable; retry shortly") from exc


def relay(resp: httpx.Response | Reply) -> Response:
    """Pass an internal answer through: status and JSON body as they are."""
    status = resp.status if isinstance(resp, Reply) else resp.status_code
    if status == 204 or not resp.content:
        return Response(status_code=status)
    try:
        payload = jsonlib.loads(resp.content)
    except ValueError:
        raise ApiError(502, "bad_upstream",
                       "a Ferry service answered with something that is not JSON") from None
    return JSONResponse(payload, status_code=status)


def ok_json(resp: httpx.Response) -> Any:
    """The JSON body of a 2xx answer; any other answer is raised as the same error to the caller."""
    if resp.status_code >= 400:
        try:
            err = resp.json().get("error", {})
        except (ValueError, AttributeError):
            err = {}
        status = resp.status_code if resp.status_code < 500 else 502
        raise ApiError(status, err.get("code", "error"), err.get("message", resp.text[:200]),
                       err.get("details"))
    return resp.json() if resp.content else None

"""Each service's internal API answers only with the internal token; the connections service's
only public routes are the connect page, the OAuth callback and its health check."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from ferry_connections.api import create_api as connections_api
from ferry_executor.api import create_api as executor_api
from ferry_kit import internal
from ferry_records.api import create_api as records_api
from ferry_scheduler.api import create_api as scheduler_api
from ferry_webhooks.api import create_api as webhooks_api

TOKEN = "internal-token-for-tests-0123"
# The services' parts are never reached: the guard answers before any handler runs.
APPS = {
    "connections": lambda: connections_api(None, None, None, TOKEN),
    "scheduler": lambda: scheduler_api(None, TOKEN),
    "executor": lambda: executor_api(None, None, TOKEN),
    "records": lambda: records_api(None, None, TOKEN),
    "webhooks": lambda: webhooks_api(None, None, TOKEN),
}


def _routes(app) -> list[tuple[str, str]]:
    # included routers stay nested in app.routes: walk down to every route as it is served
    return [(m, r.path) for r in iter_route_contexts(app.routes) for m in r.methods or ()]


@pytest.mark.parametrize("service", APPS)
async def test_every_internal_route_refuses_a_request_without_the_token(service):
    app = APPS[service]()
    internal_routes = [(m, p) for m, p in _routes(app) if p.startswith("/internal/")]
    assert internal_routes
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        for method, template in internal_routes:
            target = re.sub(r"\{\w+\}", "x", template)
            for headers in ({}, {internal.HEADER: "wrong"}, {internal.HEADER: ""}):
                resp = await client.request(method, target, headers=headers, json={})
                assert resp.status_code == 401, (service, method, target, resp.text)


@pytest.mark.parametrize("service", APPS)
def test_every_route_but_the_public_ones_is_internal(service):
    public = {p for _, p in _routes(APPS[service]()) if not p.startswith("/internal/")}
    expected = {"/healthz"}
    if service == "connections":
        expected |= {"/connect/{connection_id}", "/oauth/callback"}
    assert public == expected


def test_an_empty_internal_token_is_refused_at_start():
    with pytest.raises(ValueError):
        internal.guard("")

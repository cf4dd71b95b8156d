"""Operator commands over the gateway's API: projects with the admin token, and health."""

from __future__ import annotations

from typing import Any

import httpx

from .target import MissingSetting, Target


def _client(target: Target, token: str | None = None) -> httpx.Client:
    return httpx.Client(base_url=target.gateway_url, timeout=30,
                        headers={"authorization": f"Bearer {token or target.admin_token}"})


def answer(resp: httpx.Response) -> Any:
    """The JSON of a 2xx answer; otherwise one line with the API's own error."""
    if resp.status_code >= 400:
        try:
            error = resp.json()["error"]
            message = f"{error['code']}: {error['message']}"
        except (ValueError, KeyError, TypeError):
            message = resp.text[:200]
        raise MissingSetting(f"the gateway answered {resp.status_code} ({message})")
    return resp.json() if resp.content else None


def call(target: Target, method: str, url: str, token: str | None = None, **kw: Any) -> Any:
    try:
        with _client(target, token) as client:
            return answer(client.request(method, url, **kw))
    except httpx.HTTPError as exc:
        raise MissingSetting(f"cannot reach the gateway at {target.gateway_url} ({exc}); "
                             "is Ferry running?") from None


def create_project(target: Target, name: str) -> dict[str, str]:
    created = call(target, "POST", "/v1/projects", json={"name": name})
    return {k: created[k] for k in ("project_id", "secret_key", "signing_key")}


def list_projects(target: Target) -> list[dict[str, Any]]:
    return call(target, "GET", "/v1/projects")["data"]


def rotate_key(target: Target, project_id: str) -> dict[str, str]:
    return call(target, "POST", f"/v1/projects/{project_id}/rotate-key")


def _health(url: str) -> tuple[str, dict[str, Any]]:
    try:
        resp = httpx.get(f"{url}/healthz/detail", timeout=5)
    except httpx.HTTPError as exc:
        return f"down ({type(exc).__name__})", {}
    if resp.status_code != 200:
        return f"unhealthy ({resp.status_code})", {}
    body = resp.json()
    return str(body.get("status", "ok")), body


def status(target: Target) -> list[dict[str, Any]]:
    """Each service's health, consumer lag and outbox backlog, as its /healthz reports them."""
    rows = []
    for name, url in {"gateway": target.gateway_url, **target.service_urls()}.items():
        health, body = _health(url)
        rows.append({"service": name, "health": health, "consumer_lag": body.get("consumer_lag"),
                     "outbox_backlog": body.get("outbox_backlog")})
    return rows

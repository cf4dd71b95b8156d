"""`GET /v1/syncs/{id}` and its cancel: who may see a job, and what it costs to check.

The project's secret key is checked on the project the executor's job carries, without a call
to the connections service (the status poll of a running sync); an end user's token still needs
the connection (its user); a job without a project falls back to the connection too.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt
import pytest
from ferry_gateway.api import create_api
from ferry_gateway.jobcache import JobBoard
from ferry_gateway.upstream import Upstreams
from ferry_kit.clock import SystemClock

from .fakes import FakeJobCopies
from .test_public_input import HOST, PROJECT, FakeProjects, send

JOB = "job_" + "1" * 32
CONNECTION = "con_" + "2" * 32


class Services:
    """The executor answers one job (of `project`); connections, one connection of `user`."""

    def __init__(self, project: str | None, user: str = "u-1") -> None:
        self.project, self.user = project, user
        self.calls: list[str] = []

    def executor(self, request: httpx.Request) -> httpx.Response:
        self.calls.append("executor " + request.url.path)
        if request.method == "POST":
            return httpx.Response(200, json={"id": JOB, "status": "cancelled"})
        return httpx.Response(200, json={"id": JOB, "connection_id": CONNECTION,
                                         "status": "running", "project_id": self.project})

    def connections(self, request: httpx.Request) -> httpx.Response:
        self.calls.append("connections " + request.url.path)
        if f"/projects/{PROJECT.id}/" not in request.url.path or self.project is None:
            return httpx.Response(404, json={"error": {"code": "not_found", "message": "no"}})
        return httpx.Response(200, json={"id": CONNECTION, "user_id": self.user,
                                         "status": "CONNECTED", "provider_name": "sandbox"})


def _app(services: Services) -> Any:
    app = create_api(max_body_bytes=64 * 1024, write_back_bytes=16 * 1024)

    def client(handler: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url="http://internal", transport=httpx.MockTransport(handler))

    other = client(lambda r: httpx.Response(500))
    app.state.upstreams = Upstreams(client(services.connections), other,
                                    client(services.executor), other, other)
    app.state.projects = FakeProjects()
    app.state.job_board = JobBoard(FakeJobCopies(), SystemClock(), 5.0)  # type: ignore[arg-type]
    app.state.settings = type(
        "S", (), {"public_host": HOST, "admin_token": "admin-token-for-tests-0123"})()
    return app


def _user_token(user: str) -> str:
    claims = {"sub": user, "exp": int(time.time()) + 600, "aud": f"{HOST}/{PROJECT.id}"}
    return jwt.encode(claims, PROJECT.signing_key, algorithm="HS256")


@pytest.mark.parametrize("method, suffix", [("GET", ""), ("POST", "/cancel")])
async def test_the_projects_key_is_checked_on_the_jobs_project_alone(method, suffix):
    services = Services(PROJECT.id)
    status, body = await send(_app(services), method, f"/v1/syncs/{JOB}{suffix}")
    assert status == 200, body
    assert not [c for c in services.calls if c.startswith("connections")]
    if method == "GET":
        assert body["project_id"] == PROJECT.id and body["connection_id"] == CONNECTION


@pytest.mark.parametrize("method, suffix", [("GET", ""), ("POST", "/cancel")])
async def test_a_job_of_another_project_is_not_found(method, suffix):
    services = Services("proj_fedcba9876543210")
    status, body = await send(_app(services), method, f"/v1/syncs/{JOB}{suffix}")
    assert (status, body["error"]["code"]) == (404, "not_found")
    assert services.calls == [f"executor /internal/syncs/{JOB}"]


async def test_a_job_without_a_project_is_checked_on_its_connection():
    services = Services(None)
    status, _ = await send(_app(services), "GET", f"/v1/syncs/{JOB}")
    assert status == 404
    assert f"connections /internal/projects/{PROJECT.id}/connections/{CONNECTION}" in services.calls


@pytest.mark.parametrize("user, expected", [("u-1", 200), ("u-2", 403)])
async def test_an_end_user_still_needs_the_connection_to_be_theirs(user, expected):
    services = Services(PROJECT.id, user="u-1")
    status, _ = await send(_app(services), "GET", f"/v1/syncs/{JOB}", token=_user_token(user))
    assert status == expected
    assert f"connections /internal/projects/{PROJECT.id}/connections/{CONNECTION}" in services.calls

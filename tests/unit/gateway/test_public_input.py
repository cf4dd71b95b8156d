"""The gateway refuses odd paths, tokens and bodies itself: 4xx in the error shape, no upstream
call.

The app runs in process with a fake project repository and upstream clients whose transport
counts requests; requests go to the ASGI app as raw paths (httpx would normalise `..` away).
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import httpx
import jwt
import pytest
from ferry_gateway.api import create_api
from ferry_gateway.domain import Project
from ferry_gateway.jobcache import JobBoard
from ferry_gateway.limits import BodyGuard
from ferry_gateway.upstream import Upstreams, path
from ferry_kit.clock import SystemClock
from ferry_kit.errors import ApiError

from .fakes import FakeJobCopies

HOST = "ferry.test"
PROJECT = Project(
    "proj_0123456789abcdef", "acme", "fsig_signing-key-for-tests-0123456789", datetime.now(UTC)
)
KEY = "fsk_test"
VALID = {
    "connection_id": "con_" + "0" * 32,
    "job_id": "job_" + "0" * 32,
    "endpoint_id": "ep_" + "0" * 32,
    "message_id": "msg_" + "0" * 32,
    "user_id": "u-1",
    "data_model": "CONTACTS",
    "record_id": "rec_1",
    "provider": "sandbox",
    "project_id": "proj_0123456789abcdef",
}
BODIES = {
    ("POST", "/v1/users/{user_id}/connections"): {
        "provider_name": "sandbox",
        "requested_data_types": ["X"],
    },
    ("POST", "/v1/connections/{connection_id}/records/{data_model}"): {"data": {}},
    ("PUT", "/v1/integrations/{provider}"): {"client_id": "app"},
    ("PATCH", "/v1/connections/{connection_id}/records/{data_model}/{record_id}"): {"data": {}},
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/replay-failed"): {
        "since": "2026-01-01T00:00:00Z"
    },
    ("PATCH", "/v1/webhook-endpoints/{endpoint_id}"): {"enabled": False},
}
EVIL = [
    "..",
    ".",
    "%2e%2e",
    "%2E%2E",
    ".%2e",
    "%2F",
    "a%2Fb",
    "..%2F..%2Finternal",
    "..%2f..%2finternal",
    "%2e%2e%2finternal%2fproviders",
    "con_%0a",
    "%00",
    "con_%00",
    "%7f",
    "x" * 300,
]


class FakeProjects:
    def __init__(self) -> None:
        self.asked: list[str] = []

    async def get(self, project_id: str) -> Project | None:
        self.asked.append(project_id)
        return PROJECT if project_id == PROJECT.id else None

    async def by_secret_key(self, key: str) -> Project | None:
        return PROJECT if key == KEY else None


class Upstream:
    """Answers every internal call as a connected connection of user u-1 with WRITE access
    (and an empty sync status)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request.url.raw_path.decode())
        return httpx.Response(
            200,
            json={
                "id": VALID["connection_id"],
                "connection_id": VALID["connection_id"],
                "user_id": "u-1",
                "status": "CONNECTED",
                "provider_name": "sandbox",
                "requested_data_types": ["CONTACTS"],
                "resolved_sync_config": [{"data_model": "CONTACTS", "access": "READ_WRITE"}],
                "data_models": [],
            },
        )


@pytest.fixture
def gateway():
    app = create_api(max_body_bytes=64 * 1024, write_back_bytes=16 * 1024)
    upstream = Upstream()
    client = httpx.AsyncClient(base_url="http://internal", transport=httpx.MockTransport(upstream))
    app.state.upstreams = Upstreams(client, client, client, client, client)
    app.state.projects = FakeProjects()
    app.state.job_board = JobBoard(FakeJobCopies(), SystemClock(), 5.0)  # type: ignore[arg-type]
    app.state.settings = type(
        "S", (), {"public_host": HOST, "admin_token": "admin-token-for-tests-0123"}
    )()
    app.state.upstream = upstream
    return app


async def send(
    app,
    method: str,
    raw_path: str,
    *,
    body: bytes = b"",
    token: str = KEY,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> tuple[int, dict[str, Any]]:
    """One request as a server hands it over: the path percent-decoded, never normalised."""
    path, _, query = raw_path.partition("?")
    heads = [
        (b"host", b"gw"),
        (b"authorization", f"Bearer {token}".encode()),
        (b"content-type", b"application/json"),
    ]
    heads += headers if headers is not None else [(b"content-length", str(len(body)).encode())]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(path),
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": heads,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    sent = False
    out: dict[str, Any] = {"body": b""}

    async def receive():
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def reply(message):
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
        else:
            out["body"] += message.get("body", b"")

    await app(scope, receive, reply)
    return out["status"], json.loads(out["body"] or b"null")


def _operations(app) -> list[tuple[str, str]]:
    ops = [(m.upper(), p) for p, item in app.openapi()["paths"].items() for m in item if "{" in p]
    return ops + [("GET", "/connect/{connection_id}"), ("POST", "/connect/{connection_id}")]


def _fill(template: str, evil_param: str | None = None, evil: str = "") -> str:
    return re.sub(r"\{(\w+)\}", lambda m: evil if m[1] == evil_param else VALID[m[1]], template)


def _body(method: str, template: str) -> bytes:
    if template.startswith("/connect/"):
        return b""
    return json.dumps(BODIES.get((method, template), {})).encode()


def _assert_error(status: int, body: dict[str, Any], *allowed: int) -> None:
    assert status in allowed, (status, body)
    assert set(body["error"]) == {"code", "message", "details"}


async def test_every_route_with_valid_ids_reaches_its_upstream(gateway):
    for method, template in _operations(gateway):
        if template.startswith("/v1/projects/"):
            continue  # projects are the gateway's own data: no upstream to reach
        gateway.state.upstream.calls.clear()
        status, _ = await send(gateway, method, _fill(template), body=_body(method, template))
        assert status < 400, (method, template, status)
        assert gateway.state.upstream.calls, (method, template)
        assert all(c.startswith(("/internal/", "/connect/")) for c in gateway.state.upstream.calls)


async def test_dot_segments_slashes_and_odd_ids_never_reach_an_upstream(gateway):
    for method, template in _operations(gateway):
        for param in re.findall(r"\{(\w+)\}", template):
            for evil in EVIL:
                raw = _fill(template, param, evil)
                if _another_route(gateway, method, template, raw):
                    continue  # "a%2Fb" arrives as "a/b": a path of a route with one more segment
                status, body = await send(gateway, method, raw, body=_body(method, template))
                _assert_error(status, body, 404, 405, 422)
    assert gateway.state.upstream.calls == []


def _another_route(app, method: str, template: str, raw: str) -> bool:
    decoded = unquote(raw)
    for m, other in _operations(app):
        pattern = re.sub(r"\\\{\w+\\\}", "[A-Za-z0-9_-]+", re.escape(other))
        if m == method and other != template and re.fullmatch(pattern, decoded):
            return True
    return False


async def test_a_record_id_with_odd_characters_goes_upstream_as_one_encoded_segment(gateway):
    where = (
        _fill("/v1/connections/{connection_id}/records/{data_model}") + "/a%20b%3Fc%23d%25e%C3%A9"
    )
    status, _ = await send(gateway, "PATCH", where, body=b'{"data": {}}')
    assert status < 400
    assert gateway.state.upstream.calls[-1].endswith("/records/CONTACTS/a%20b%3Fc%23d%25e%C3%A9")


@pytest.mark.parametrize("piece", ["", ".", ".."])
def test_an_upstream_path_never_takes_an_empty_or_dot_segment(piece):
    with pytest.raises(ApiError) as caught:
        path("internal", "connections", piece, "credentials")
    assert caught.value.status == 404


@pytest.mark.parametrize(
    "raw",
    [
        "/connect/../internal/connections/con_0/credentials",
        "/connect/%2e%2e/internal/providers",
        "/connect/%2E%2E/internal/providers",
        "/connect/..%2Finternal%2Fproviders",
        "/connect/con_00000000000000000000000000000000/../../internal/providers",
        "/connect/x/y",
        "/connect/",
        "/oauth/../internal/providers",
        "/oauth/other",
        "/v1/connections/../../internal/providers",
        "/v1/users/u/connections/../../../internal/providers",
    ],
)
async def test_the_connect_proxy_forwards_only_its_own_routes(gateway, raw):
    for method in ("GET", "POST"):
        status, body = await send(gateway, method, raw)
        _assert_error(status, body, 404, 405, 422)
    assert gateway.state.upstream.calls == []


def _jwt(aud: Any, alg: str = "HS256", **claims: Any) -> str:
    claims = {"sub": "u-1", "exp": int(time.time()) + 600, "aud": aud, **claims}
    if alg == "none":
        return jwt.encode(claims, None, algorithm="none")
    return jwt.encode(claims, PROJECT.signing_key, algorithm=alg)


@pytest.mark.parametrize(
    "token",
    [
        _jwt(f"{HOST}/{PROJECT.id}", alg="none"),
        _jwt([f"{HOST}/{PROJECT.id}"], alg="none"),
        _jwt(5),
        _jwt([5]),
        _jwt([None, {"a": 1}]),
        _jwt({"a": f"{HOST}/{PROJECT.id}"}),
        _jwt(""),
        _jwt([]),
        _jwt([f"{HOST}/{PROJECT.id}", 5]),
        _jwt(f"{HOST}/proj_\x00"),
        _jwt(f"{HOST}/" + "p" * 5000),
        _jwt(f"{HOST}/{PROJECT.id}", sub=5),
        _jwt(f"{HOST}/{PROJECT.id}", exp="soon"),
        "e30.e30.",
        "a.b.c",
        "....",
        "ey.ey.ey",
    ],
)
async def test_unsigned_or_oddly_addressed_tokens_answer_401(gateway, token):
    status, body = await send(gateway, "GET", "/v1/users/u-1/connections", token=token)
    _assert_error(status, body, 401)
    assert body["error"]["code"] in ("invalid_token", "invalid_audience", "token_expired")
    assert all(p == PROJECT.id for p in gateway.state.projects.asked)
    assert gateway.state.upstream.calls == []


async def test_a_well_formed_end_user_token_still_opens_its_own_connections(gateway):
    status, _ = await send(
        gateway, "GET", "/v1/users/u-1/connections", token=_jwt(f"{HOST}/{PROJECT.id}")
    )
    assert status == 200


@pytest.mark.parametrize(
    "payload",
    [
        {"data_models": [{"data_model": "CON\u0000TACTS"}]},
        {"data_models": [], "\u0000": 1},
    ],
)
async def test_a_nul_character_in_a_json_string_is_a_422_naming_the_field(gateway, payload):
    status, body = await send(gateway, "PUT", "/v1/sync-config", body=json.dumps(payload).encode())
    _assert_error(status, body, 422)
    assert body["error"]["details"][0]["field"] in ("data_models[0].data_model", "\u0000")
    assert gateway.state.upstream.calls == []


async def test_a_nul_in_a_record_body_or_the_query_is_refused(gateway):
    where = _fill("/v1/connections/{connection_id}/records/{data_model}")
    status, body = await send(gateway, "POST", where, body=b'{"data": {"note": "a\\u0000b"}}')
    _assert_error(status, body, 422)
    assert body["error"]["details"][0]["field"] == "data.note"
    status, body = await send(gateway, "GET", where + "?cursor=%00")
    _assert_error(status, body, 422)
    assert gateway.state.upstream.calls == []


async def test_an_escaped_backslash_before_u0000_is_not_a_nul(gateway):
    payload = (
        b'{"data_models": [], "full_sync_interval_hours": 24, '
        b'"record_events_on_initial_sync": false}'
    )
    assert (await send(gateway, "PUT", "/v1/sync-config", body=payload.replace(b"[]", b"[]  ")))[
        0
    ] == 200
    status, _ = await send(
        gateway,
        "POST",
        _fill("/v1/connections/{connection_id}/records/{data_model}"),
        body=b'{"data": {"note": "a\\\\u0000b"}}',
    )
    assert status < 400


@pytest.mark.parametrize("cursor", ["dj E6MQ", "%C3%A9", "x" * 200, "djE6MQ=="])
async def test_a_cursor_outside_the_cursor_alphabet_is_a_422(gateway, cursor):
    where = _fill("/v1/connections/{connection_id}/records/{data_model}")
    status, body = await send(gateway, "GET", f"{where}?cursor={cursor}")
    _assert_error(status, body, 422)
    assert body["error"]["details"][0]["field"] == "cursor"


async def test_a_body_over_the_limit_is_a_413(gateway):
    big = json.dumps({"data_models": [], "pad": "x" * 70_000}).encode()
    status, body = await send(gateway, "PUT", "/v1/sync-config", body=big)
    _assert_error(status, body, 413)
    assert body["error"]["code"] == "payload_too_large"


async def test_write_back_bodies_have_the_smaller_limit(gateway):
    where = _fill("/v1/connections/{connection_id}/records/{data_model}")
    record = json.dumps({"data": {"note": "x" * 20_000}}).encode()
    status, body = await send(gateway, "POST", where, body=record)
    _assert_error(status, body, 413)
    status, _ = await send(gateway, "PATCH", f"{where}/rec_1", body=record)
    assert status == 413
    small = json.dumps({"data": {"note": "x" * 10_000}}).encode()
    assert (await send(gateway, "POST", where, body=small))[0] < 400
    assert gateway.state.upstream.calls  # only the small one went on


@pytest.mark.parametrize("headers", [[(b"content-length", b"10")], []], ids=["lying", "absent"])
async def test_the_limit_counts_the_streamed_body_not_its_content_length(headers):
    reached = []

    async def app(scope, receive, send):
        reached.append(scope)

    chunks = [b"x" * 1024] * 40
    messages = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
        for i, c in enumerate(chunks)
    ]
    replies: list[dict[str, Any]] = []

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def reply(message):
        replies.append(message)

    scope = {
        "type": "http",
        "method": "PUT",
        "path": "/v1/sync-config",
        "query_string": b"",
        "headers": headers,
    }
    await BodyGuard(app, max_bytes=16 * 1024)(scope, receive, reply)
    assert reached == []
    assert replies[0]["status"] == 413
    assert json.loads(replies[1]["body"])["error"]["code"] == "payload_too_large"
    assert len(messages) < 30  # stopped reading soon after the limit


def test_the_spec_shows_id_patterns_and_413_answers(gateway):
    spec = gateway.openapi()
    op = spec["paths"]["/v1/connections/{connection_id}/records/{data_model}/{record_id}"]["patch"]
    params = {p["name"]: p["schema"] for p in op["parameters"]}
    assert params["connection_id"]["pattern"] == "^con_[0-9a-f]{32}$"
    assert params["data_model"]["maxLength"] == 64
    assert "16384 bytes" in op["responses"]["413"]["description"]
    put = spec["paths"]["/v1/sync-config"]["put"]
    assert "65536 bytes" in put["responses"]["413"]["description"]

"""Form-encoded write-back, the `rate_limited` error rule, and one Accept header per request."""

from __future__ import annotations

from urllib.parse import parse_qsl

import httpx
import pytest
from ferry_connectors import ConnectorClient, RateLimited
from ferry_connectors.definition import Definition
from ferry_connectors.errors import AccessDenied
from ferry_connectors.template import form_fields

DEF = Definition.model_validate({
    "name": "formy", "display_name": "Formy", "base_url": "http://formy",
    "auth": {"type": "none"},
    "rate_limit": {"remaining_header": "x-left", "reset_header": "x-reset",
                   "reset_format": "seconds"},
    "errors": [{"status": 403, "body_contains": "rate limit", "decision": "rate_limited"}],
    "models": {"ITEMS": {
        "request": {"path": "/items", "headers": {"Accept": "application/vnd.formy+json"}},
        "write": {"create": {"method": "POST", "path": "/items", "encoding": "form"},
                  "update": {"method": "PATCH", "path": "/items/{id}"}}}}})


def _client(handler) -> ConnectorClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return ConnectorClient(DEF, http, base_url="http://formy")


def test_nested_values_become_bracketed_form_fields():
    assert form_fields({"name": "Ada", "metadata": {"plan": "pro"}, "tags": ["a", "b"],
                        "vip": True, "phone": None}) == [
        ("name", "Ada"), ("metadata[plan]", "pro"), ("tags[0]", "a"), ("tags[1]", "b"),
        ("vip", "true"), ("phone", "")]


async def test_a_form_write_sends_the_record_form_encoded_and_a_json_write_sends_json():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "i1", "name": "Ada"})

    client = _client(handler)
    await client.create_record("ITEMS", {"name": "Ada", "metadata": {"plan": "pro"}})
    await client.update_record("ITEMS", "i1", {"name": "Ada"})
    form, json_ = seen
    assert form.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qsl(form.content.decode()) == [("name", "Ada"), ("metadata[plan]", "pro")]
    assert json_.headers["content-type"] == "application/json"


async def test_a_403_that_says_rate_limit_waits_for_the_reset_and_another_403_is_denied():
    answers = [httpx.Response(403, json={"message": "API rate limit exceeded"},
                              headers={"x-left": "0", "x-reset": "42"}),
               httpx.Response(403, json={"message": "Resource not accessible"})]
    client = _client(lambda request: answers.pop(0))
    with pytest.raises(RateLimited) as limited:
        await client.fetch_page("ITEMS", None)
    assert 41 <= limited.value.retry_after <= 42 and limited.value.status == 403
    with pytest.raises(AccessDenied):
        await client.fetch_page("ITEMS", None)


async def test_a_models_accept_header_replaces_the_default_one():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[])

    await _client(handler).fetch_page("ITEMS", None)
    assert seen[0].headers.get_list("accept") == ["application/vnd.formy+json"]

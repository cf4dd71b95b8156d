"""`ferry connectors validate/schema`, declared error rules and rate-limit headers, and both
shapes of the credentials answer."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from ferry_connectors.definition import Definition
from ferry_connectors.errors import (
    AccessDenied,
    AuthExpired,
    ProviderUnavailable,
    RateLimited,
    exhausted_wait,
    raise_for,
)
from typer.testing import CliRunner

from ferry_cli.main import app

BAD = """\
name: acme
display_name: Acme
base_url: https://api.acme.test
auth: {type: api_key}
models:
  ITEMS:
    request: {path: /items}
    paging: {type: cursor, cursor_param: after}
"""


def test_validate_prints_every_problem_with_file_line_and_path_and_exits_1(tmp_path):
    bad = tmp_path / "acme.yaml"
    bad.write_text(BAD)
    result = CliRunner().invoke(app, ["connectors", "validate", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:4: auth: Value error, an api_key auth needs `header` or `query`" in result.output
    assert f"{bad}:8: models.ITEMS.paging.cursor_path: Field required" in result.output


def test_validate_accepts_the_catalogue_and_schema_prints_json_schema():
    from ferry_connectors.loader import CATALOGUE

    files = [str(p) for p in sorted(CATALOGUE.glob("*.yaml"))]
    assert CliRunner().invoke(app, ["connectors", "validate", *files]).exit_code == 0
    printed = json.loads(CliRunner().invoke(app, ["connectors", "schema"]).output)
    assert printed["title"] == "Definition" and "models" in printed["properties"]


DEF = Definition.model_validate(
    {
        "name": "acme",
        "display_name": "Acme",
        "base_url": "https://x",
        "auth": {"type": "none"},
        "models": {"ITEMS": {"request": {"path": "/items"}}},
        "rate_limit": {
            "remaining_header": "X-RateLimit-Remaining",
            "reset_header": "X-RateLimit-Reset",
            "reset_format": "seconds",
            "limited_statuses": [429, 420],
        },
        "errors": [
            {"status": 400, "body_contains": "token_expired", "decision": "refresh"},
            {"status": 409, "decision": "retry_later"},
            {"status": 404, "body_contains": "not enabled", "decision": "fail_model"},
        ],
    }
)


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (400, "token_expired", AuthExpired),
        (409, "busy", ProviderUnavailable),
        (404, "feature not enabled", AccessDenied),
        (401, "", AuthExpired),
        (503, "", ProviderUnavailable),
    ],
)
def test_declared_error_rules_map_answers_onto_the_executor_decisions(status, body, error):
    with pytest.raises(error):
        raise_for(httpx.Response(status, text=body), "GET /items", DEF)


def test_a_declared_limited_status_without_retry_after_waits_for_the_reset_header():
    with pytest.raises(RateLimited) as limited:
        raise_for(httpx.Response(420, headers={"X-RateLimit-Reset": "7"}), "GET /items", DEF)
    assert limited.value.retry_after == 7


def test_an_exhausted_remaining_budget_pauses_until_the_reset():
    spent = httpx.Response(200, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "12"})
    assert exhausted_wait(spent, DEF.rate_limit) == 12
    assert (
        exhausted_wait(httpx.Response(200, headers={"X-RateLimit-Remaining": "5"}), DEF.rate_limit)
        is None
    )
    epoch = DEF.rate_limit.model_copy(update={"reset_format": "epoch_seconds"})
    later = httpx.Response(
        200, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time()) + 30)}
    )
    assert 28 <= exhausted_wait(later, epoch) <= 30


def test_credentials_with_headers_are_sent_as_given_and_a_bare_token_as_bearer():
    from ferry_executor.provider import Credentials

    bare = Credentials.from_answer({"access_token": "t", "base_url": "u", "provider_name": "p"})
    assert bare.headers == {"Authorization": "Bearer t"}
    given = Credentials.from_answer(
        {
            "access_token": None,
            "base_url": "u",
            "provider_name": "p",
            "headers": {"X-Api-Key": "k"},
            "params": {"key": "k"},
            "connection_config": {"region": "eu"},
        }
    )
    assert given.headers == {"X-Api-Key": "k"} and given.params == {"key": "k"}
    assert given.connection_config == {"region": "eu"} and "k" not in repr(given)

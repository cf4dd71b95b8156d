"""HubSpot's token endpoint refuses a revoked install in words of its own
(`{"status": "BAD_REFRESH_TOKEN"}`, no `error`): the definition's `invalid_grant` makes it the
refused grant the end user must fix, where it would otherwise look like an unreachable provider."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from ferry_connections.oauth import Client, ProviderUnreachable, TokenRejected, refresh
from ferry_connectors import get_definition
from support.providers.hubspot import HubSpot


@pytest.fixture(scope="module")
def hubspot():
    with HubSpot().running() as server:
        yield server


def _client(hubspot: HubSpot) -> Client:
    return Client(hubspot.client_id, hubspot.client_secret, hubspot.url + "/oauth/v1/token")


async def test_a_bad_refresh_token_is_a_refused_grant(hubspot):
    with pytest.raises(TokenRejected):
        await refresh(get_definition("hubspot").auth, _client(hubspot), refresh_token="rt-gone",
                      now=datetime.now(UTC))


async def test_without_the_declaration_the_same_answer_is_not_taken_for_a_refused_grant(hubspot):
    auth = get_definition("hubspot").auth.model_copy(update={"invalid_grant": None})
    with pytest.raises(ProviderUnreachable):
        await refresh(auth, _client(hubspot), refresh_token="rt-gone", now=datetime.now(UTC))


async def test_a_known_refresh_token_gets_a_new_access_token_and_keeps_itself(hubspot):
    hubspot.refresh_tokens["rt-live"] = hubspot.client_id
    tokens = await refresh(get_definition("hubspot").auth, _client(hubspot),
                           refresh_token="rt-live", now=datetime.now(UTC))
    assert hubspot.access_tokens[tokens.access_token] > time.time()
    assert tokens.refresh_token == "rt-live" and tokens.expires_at is not None

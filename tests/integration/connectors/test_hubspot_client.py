"""The built-in HubSpot definition through the connector client, against the loopback HubSpot:
search pages with `after` in the body, the `lastmodifieddate` filter, archived records as
deletions, write-back in HubSpot's `{"properties": ...}` shape, and its 429."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from ferry_connectors import ConnectorClient, RateLimited, get_definition
from support.providers.hubspot import HubSpot
from support.providers.hubspot_account import Account


@pytest.fixture(scope="module")
def hubspot():
    with HubSpot().running() as server:
        yield server


@pytest.fixture
async def client(hubspot, make_http):
    hubspot.account = Account()
    hubspot.searches.clear()
    hubspot.rate_limited.clear()
    hubspot.access_tokens["at-test"] = time.time() + 600
    async with make_http() as http:
        yield ConnectorClient(get_definition("hubspot"), http, base_url=hubspot.url,
                              headers={"Authorization": "Bearer at-test"})


async def _all(client, model, since=None):
    ids, state, pages = [], None, 0
    while True:
        page = await client.fetch_page(model, state, since=since)
        ids, pages, state = ids + page.ids, pages + 1, page.next_state
        if state is None:
            return ids, pages


async def test_companies_page_through_the_search_with_the_after_cursor_in_the_body(
        hubspot, client):
    seeded = hubspot.account.seed("companies", 230)
    ids, pages = await _all(client, "COMPANIES")
    assert ids == seeded and pages == 3
    kind, last = hubspot.searches[-1]
    assert kind == "companies" and last["after"] == "200" and last["limit"] == 100
    assert last["sorts"] == [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}]
    assert "hs_lastmodifieddate" in last["properties"]


async def test_an_incremental_run_filters_on_lastmodifieddate_and_lists_archived_contacts(
        hubspot, client):
    seeded = hubspot.account.seed("contacts", 5)
    since = datetime.now(UTC)
    await asyncio.sleep(0.01)
    hubspot.account.update("contacts", seeded[0], {"firstname": "Ada"})
    hubspot.account.archive("contacts", seeded[1])
    ids, _ = await _all(client, "CONTACTS", since=since)
    assert ids[-1] == seeded[0] and seeded[1] not in ids  # the search hides archived records
    [group] = hubspot.searches[-1][1]["filterGroups"]
    [flt] = group["filters"]
    assert flt["propertyName"] == "lastmodifieddate" and flt["operator"] == "GTE"
    assert int(flt["value"]) == int((since - timedelta(seconds=30)).timestamp() * 1000)
    assert await client.fetch_deleted("CONTACTS", since) == [seeded[1]]


async def test_the_archived_listing_is_paged_and_skips_what_was_archived_before_the_window(
        hubspot, client):
    old = hubspot.account.seed("contacts", 3)
    hubspot.account.archive("contacts", old[0])
    since = datetime.now(UTC)
    await asyncio.sleep(0.01)
    fresh = hubspot.account.seed("contacts", 120)
    for rid in fresh:
        hubspot.account.archive("contacts", rid)
    assert await client.fetch_deleted("CONTACTS", since) == fresh


async def test_write_back_sends_the_record_as_hubspot_properties(hubspot, client):
    made = await client.create_record("CONTACTS", {"email": "new@example.com"})
    assert hubspot.writes[-1] == ("POST", "/crm/v3/objects/contacts",
                                  {"properties": {"email": "new@example.com"}})
    changed = await client.update_record("CONTACTS", made["id"], {"lastname": "Lovelace"})
    assert hubspot.writes[-1] == ("PATCH", f"/crm/v3/objects/contacts/{made['id']}",
                                  {"properties": {"lastname": "Lovelace"}})
    assert changed["properties"] == {"email": "new@example.com", "lastname": "Lovelace"}


async def test_a_429_with_hubspots_headers_is_a_short_rate_limit(hubspot, client):
    hubspot.rate_limit_searches(1)
    with pytest.raises(RateLimited) as caught:
        await client.fetch_page("CONTACTS", None)
    assert caught.value.retry_after == 1.0
    assert hubspot.rate_limited == ["/crm/v3/objects/contacts/search"]


async def test_past_the_10000_results_of_a_search_the_query_starts_again_from_the_last_record(
        hubspot, client):
    seeded = hubspot.account.seed("contacts", 10_150)
    ids, pages = await _all(client, "CONTACTS")
    assert set(ids) == set(seeded) and pages > 100  # a few at the restart time come twice
    restarted = [body for _, body in hubspot.searches if body.get("filterGroups")]
    assert restarted and "after" not in restarted[0]
    assert max(int(body.get("after") or 0) for _, body in hubspot.searches) == 9_900

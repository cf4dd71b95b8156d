"""The connector SDK against the real sandbox provider app: pages, increments, errors,
write-back.
"""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest
from ferry_connectors import (
    AuthExpired,
    ConnectorClient,
    ProviderError,
    RateLimited,
    get_definition,
)
from ferry_sandbox.app import create_app
from ferry_sandbox.settings import Settings

ADMIN = "sandbox-admin-token-for-tests"


@pytest.fixture
async def sandbox():
    app = create_app(Settings(admin_token=ADMIN))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sandbox"
    ) as http:
        yield http


async def _admin(http, method, path, **kw):
    resp = await http.request(method, path, headers={"authorization": f"Bearer {ADMIN}"}, **kw)
    assert resp.status_code == 200, resp.text
    return resp.json()


def _client(http, token="static:acme"):
    return ConnectorClient(
        get_definition("sandbox_noauth"),
        http,
        base_url="http://sandbox",
        headers={"Authorization": f"Bearer {token}"},
    )


async def _all(client, model, since=None):
    rows, state, pages = [], None, 0
    while True:
        page = await client.fetch_page(model, state, since=since)
        rows += page.records
        pages += 1
        if page.next_state is None:
            return rows, pages
        state = page.next_state


async def test_a_declared_provider_pages_through_every_record_once(sandbox):
    await _admin(
        sandbox, "POST", "/_admin/accounts/acme/seed", json={"model": "contacts", "count": 2345}
    )
    client = _client(sandbox)
    rows, pages = await _all(client, "CONTACTS")
    assert pages == 3 and len(rows) == 2345 and len({r["id"] for r in rows}) == 2345


async def test_an_incremental_fetch_returns_only_records_changed_after_the_mark(sandbox):
    await _admin(
        sandbox, "POST", "/_admin/accounts/acme/seed", json={"model": "invoices", "count": 300}
    )
    client = _client(sandbox)
    rows, _ = await _all(client, "invoices")
    mark = max(datetime.fromisoformat(r["updated_at"].replace("Z", "+00:00")) for r in rows)
    changed = await _admin(
        sandbox,
        "POST",
        "/_admin/accounts/acme/mutate",
        json={"model": "invoices", "update": 4, "create": 2},
    )
    later, pages = await _all(client, "invoices", since=mark)
    assert pages == 1 and sorted(r["id"] for r in later) == sorted(
        changed["updated"] + changed["created"]
    )


async def test_provider_failures_map_to_the_errors_the_executor_acts_on(sandbox):
    with pytest.raises(AuthExpired):
        await _client(sandbox, "not-a-token").fetch_page("contacts", None)
    with pytest.raises(ProviderError):
        await _client(sandbox).fetch_page("nope", None)
    await _admin(sandbox, "PUT", "/_admin/faults", json={"rate_limit_per_second": 1})
    client = _client(sandbox)
    with pytest.raises(RateLimited) as limited:
        for _ in range(5):
            await client.fetch_page("contacts", None)
    assert limited.value.retry_after >= 1


async def test_write_back_creates_and_updates_a_record_at_the_provider(sandbox):
    client = _client(sandbox)
    created = await client.create_record(
        "CONTACTS", {"first_name": "Ada", "email": "ada@example.com"}
    )
    updated = await client.update_record("CONTACTS", created["id"], {"first_name": "Augusta"})
    assert (
        updated["id"] == created["id"]
        and updated["first_name"] == "Augusta"
        and updated["email"] == "ada@example.com"
    )
    assert updated["updated_at"] >= created["updated_at"]

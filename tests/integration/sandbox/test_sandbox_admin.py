"""The admin API that demos, tests and benchmarks drive the sandbox with."""

from __future__ import annotations

import pytest

ADMIN_CALLS = [
    ("POST", "/_admin/accounts/acme/seed", {"model": "contacts", "count": 1}),
    ("POST", "/_admin/accounts/acme/mutate", {"model": "contacts"}),
    ("GET", "/_admin/accounts/acme/records/contacts", None),
    ("GET", "/_admin/stats", None),
    ("PUT", "/_admin/faults", {}),
    ("POST", "/_admin/tokens/revoke", {}),
    ("POST", "/_admin/tokens/expire", {}),
    ("POST", "/_admin/reset", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_CALLS)
async def test_every_admin_route_requires_the_admin_token(sbx, method, path, body):
    for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": "Bearer static:acme"}):
        r = await sbx.client.request(method, path, json=body, headers=headers)
        assert r.status_code == 401, (path, headers)
    assert (await sbx.client.request(method, path, json=body, headers=sbx.admin)).status_code == 200


async def test_seed_answers_the_model_the_count_and_the_new_total(sbx):
    assert await sbx.seed("acme", "Contacts", 10) == {"model": "contacts", "count": 10, "total": 10}
    assert await sbx.seed("acme", "contacts", 5) == {"model": "contacts", "count": 5, "total": 15}
    assert len(await sbx.records("acme", "CONTACTS")) == 15


async def test_seeding_100000_records_makes_100000_distinct_records(sbx):
    # Its speed is measured by tests/bench/bench_sandbox.py, not asserted here.
    assert (await sbx.seed("bench", "contacts", 100_000))["total"] == 100_000
    ids = {r["id"] for r in await sbx.records("bench", "contacts")}
    assert len(ids) == 100_000


async def test_seed_rejects_an_unknown_model_or_a_negative_count_naming_the_fields(sbx):
    r = await sbx.client.post(
        "/_admin/accounts/acme/seed", json={"model": "emails", "count": -1}, headers=sbx.admin
    )
    assert r.status_code == 422
    assert {d["field"] for d in r.json()["details"]} == {"model", "count"}


async def test_mutate_answers_the_ids_it_created_updated_and_deleted(sbx):
    await sbx.seed("acme", "contacts", 20)
    before = {r["id"]: r for r in await sbx.records("acme", "contacts")}
    sbx.clock.now += 1
    r = await sbx.client.post(
        "/_admin/accounts/acme/mutate",
        json={"model": "contacts", "create": 2, "update": 3, "delete": 1},
        headers=sbx.admin,
    )
    assert r.status_code == 200
    changed = r.json()
    assert set(changed) == {"created", "updated", "deleted"}
    assert [len(changed[k]) for k in ("created", "updated", "deleted")] == [2, 3, 1]
    after = {r["id"]: r for r in await sbx.records("acme", "contacts")}
    assert set(after) == (set(before) - set(changed["deleted"])) | set(changed["created"])
    for rid in changed["updated"]:
        assert after[rid]["updated_at"] > before[rid]["updated_at"]
        assert after[rid]["email"] != before[rid]["email"]


async def test_mutating_more_records_than_exist_is_a_422(sbx):
    await sbx.seed("acme", "files", 2)
    r = await sbx.client.post(
        "/_admin/accounts/acme/mutate", json={"model": "files", "delete": 3}, headers=sbx.admin
    )
    assert r.status_code == 422


async def test_stats_count_data_requests_in_total_and_per_account(sbx):
    for token, n in (("static:acme", 3), ("static:globex", 2)):
        for _ in range(n):
            await sbx.api("GET", "/api/contacts", token)
    await sbx.api("GET", "/api/contacts", "not-a-token")
    stats = (await sbx.client.get("/_admin/stats", headers=sbx.admin)).json()
    assert stats["requests"] == 6 and stats["per_account"] == {"acme": 3, "globex": 2}
    acme = (
        await sbx.client.get("/_admin/stats", params={"account": "acme"}, headers=sbx.admin)
    ).json()
    assert acme["requests"] == 3 and acme["per_account"] == {"acme": 3}


async def test_faults_change_only_the_fields_given_and_answer_the_current_faults(sbx):
    r = await sbx.client.put(
        "/_admin/faults", json={"rate_limit_per_second": 5, "latency_ms": 10}, headers=sbx.admin
    )
    assert r.json() == {
        "rate_limit_per_second": 5,
        "error_rate": 0,
        "latency_ms": 10,
        "token_error": "",
    }
    r = await sbx.client.put("/_admin/faults", json={"error_rate": 0.25}, headers=sbx.admin)
    assert r.json() == {
        "rate_limit_per_second": 5,
        "error_rate": 0.25,
        "latency_ms": 10,
        "token_error": "",
    }
    bad = await sbx.client.put("/_admin/faults", json={"error_rate": 1.5}, headers=sbx.admin)
    assert bad.status_code == 422 and bad.json()["details"][0]["field"] == "error_rate"


async def test_reset_clears_records_tokens_faults_and_stats(sbx):
    await sbx.seed("acme", "contacts", 5)
    tokens = await sbx.connect("acme")
    await sbx.client.put("/_admin/faults", json={"error_rate": 1}, headers=sbx.admin)
    assert (await sbx.client.post("/_admin/reset", headers=sbx.admin)).status_code == 200
    assert await sbx.records("acme", "contacts") == []
    assert (await sbx.api("GET", "/api/contacts", tokens["access_token"])).status_code == 401
    assert (await sbx.api("GET", "/api/contacts", "static:acme")).status_code == 200
    stats = (await sbx.client.get("/_admin/stats", headers=sbx.admin)).json()
    # Two data requests since the reset; the rejected one belongs to no account.
    assert stats == {
        "requests": 2,
        "token_requests": 0,
        "refresh_requests": 0,
        "per_account": {"acme": 1},
    }


async def test_healthz_answers_ok(sbx):
    r = await sbx.client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}

"""The data API over HTTP: keyset pages, `updated_since`, writes, scopes, tokens and faults."""

from __future__ import annotations

import time

STATIC = "static:acme"


async def read_all(sbx, token: str, model: str = "contacts", **params) -> tuple[list[dict], int]:
    rows, pages, cursor = [], 0, None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        r = await sbx.api("GET", f"/api/{model}", token, params=query)
        assert r.status_code == 200, r.text
        body = r.json()
        rows += body["results"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return rows, pages


async def test_paging_through_2500_records_with_limit_1000_returns_each_once_in_order(sbx):
    await sbx.seed("acme", "contacts", 2500)
    rows, pages = await read_all(sbx, STATIC, limit=1000)
    assert pages == 3
    assert len(rows) == 2500 and len({r["id"] for r in rows}) == 2500
    assert [(r["updated_at"], r["id"]) for r in rows] == sorted(
        (r["updated_at"], r["id"]) for r in rows
    )
    assert {r["id"] for r in rows} == {r["id"] for r in await sbx.records("acme", "contacts")}


async def test_the_default_page_holds_100_records(sbx):
    await sbx.seed("acme", "files", 150)
    body = (await sbx.api("GET", "/api/files", STATIC)).json()
    assert len(body["results"]) == 100 and body["next_cursor"]


async def test_a_cursor_survives_updates_made_during_pagination(sbx):
    await sbx.seed("acme", "contacts", 300)
    first = (await sbx.api("GET", "/api/contacts", STATIC, params={"limit": 100})).json()
    read_id = first["results"][10]["id"]
    unread_id = (await sbx.records("acme", "contacts"))[250]["id"]
    for rid in (read_id, unread_id):
        r = await sbx.api("PATCH", f"/api/contacts/{rid}", STATIC, json={"company": "Moved"})
        assert r.status_code == 200
    rest, _ = await read_all(sbx, STATIC, limit=100, cursor=first["next_cursor"])
    ids = [r["id"] for r in first["results"] + rest]
    # Unchanged records come exactly once; a changed record comes (again) at the end, as changed.
    assert len(ids) == 301 and len(set(ids)) == 300
    assert ids.count(read_id) == 2 and ids.count(unread_id) == 1
    assert [r["id"] for r in rest[-2:]] == [read_id, unread_id]
    assert all(r["company"] == "Moved" for r in rest[-2:])


async def test_updated_since_returns_only_records_updated_strictly_after_it(sbx):
    await sbx.seed("acme", "invoices", 40)
    records = await sbx.records("acme", "invoices")
    since = records[-1]["updated_at"]
    sbx.clock.now += 5
    changed = [records[3]["id"], records[30]["id"]]
    for rid in changed:
        assert (
            await sbx.api("PATCH", f"/api/INVOICES/{rid}", STATIC, json={"status": "paid"})
        ).status_code == 200
    rows, _ = await read_all(sbx, STATIC, model="invoices", updated_since=since, limit=1)
    assert [r["id"] for r in rows] == changed
    as_offset = (
        "2025-06-15T17:06:44+02:00"  # 15:06:44 UTC: after the seed (15:06:40), before the changes
    )
    rows, _ = await read_all(sbx, STATIC, model="invoices", updated_since=as_offset)
    assert [r["id"] for r in rows] == changed


async def test_bad_paging_parameters_are_a_422_naming_each_field(sbx):
    r = await sbx.api(
        "GET",
        "/api/contacts",
        STATIC,
        params={"limit": 1001, "cursor": "xyz", "updated_since": "soon"},
    )
    assert r.status_code == 422
    assert {d["field"] for d in r.json()["details"]} == {"limit", "cursor", "updated_since"}
    for limit in ("0", "ten"):
        r = await sbx.api("GET", "/api/contacts", STATIC, params={"limit": limit})
        assert r.status_code == 422 and r.json()["details"][0]["field"] == "limit"


async def test_records_can_be_created_changed_and_deleted(sbx):
    created = await sbx.api(
        "POST",
        "/api/Contacts",
        STATIC,
        json={"first_name": "Ada", "email": "ada@acme.test", "id": "x"},
    )
    assert created.status_code == 201
    record = created.json()
    assert (
        record["id"].startswith("con_")
        and record["email"] == "ada@acme.test"
        and record["updated_at"]
    )
    sbx.clock.now += 1
    patched = await sbx.api(
        "PATCH", f"/api/contacts/{record['id']}", STATIC, json={"email": "ada@new.test"}
    )
    assert patched.status_code == 200
    assert patched.json()["email"] == "ada@new.test" and patched.json()["first_name"] == "Ada"
    assert patched.json()["updated_at"] > record["updated_at"]
    assert (await sbx.api("DELETE", f"/api/contacts/{record['id']}", STATIC)).status_code == 204
    assert (await sbx.api("GET", "/api/contacts", STATIC)).json()["results"] == []
    assert (
        await sbx.api("PATCH", f"/api/contacts/{record['id']}", STATIC, json={})
    ).status_code == 404
    assert (await sbx.api("DELETE", f"/api/contacts/{record['id']}", STATIC)).status_code == 404


async def test_a_write_body_must_be_a_json_object(sbx):
    r = await sbx.api("POST", "/api/contacts", STATIC, json=[1, 2])
    assert r.status_code == 422 and r.json()["details"][0]["field"] == "body"


async def test_an_unknown_model_is_a_404(sbx):
    assert (await sbx.api("GET", "/api/emails", STATIC)).status_code == 404


async def test_an_unknown_or_missing_access_token_is_a_401_invalid_token(sbx):
    r = await sbx.api("GET", "/api/contacts", "made-up")
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"
    assert (await sbx.client.get("/api/contacts")).status_code == 401


async def test_an_expired_access_token_is_a_401(sbx):
    tokens = await sbx.connect("acme", "contacts.read")
    assert (await sbx.api("GET", "/api/contacts", tokens["access_token"])).status_code == 200
    sbx.clock.now += 121  # access_token_ttl_seconds = 120
    r = await sbx.api("GET", "/api/contacts", tokens["access_token"])
    assert r.status_code == 401 and r.json() == {
        "error": "invalid_token",
        "error_description": r.json()["error_description"],
    }


async def test_a_token_without_the_models_scope_gets_403(sbx):
    tokens = await sbx.connect("acme", "contacts.read")
    token = tokens["access_token"]
    assert (await sbx.api("GET", "/api/invoices", token)).status_code == 403
    denied = await sbx.api("POST", "/api/contacts", token, json={"email": "x@y.test"})
    assert denied.status_code == 403 and denied.json()["error"] == "insufficient_scope"
    assert (await sbx.api("GET", "/api/contacts", token)).status_code == 200


async def test_an_oauth_token_reads_only_the_account_that_approved_it(sbx):
    await sbx.seed("acme", "contacts", 3)
    await sbx.seed("globex", "contacts", 5)
    tokens = await sbx.connect("globex", "contacts.read")
    rows, _ = await read_all(sbx, tokens["access_token"])
    assert {r["id"] for r in rows} == {r["id"] for r in await sbx.records("globex", "contacts")}


async def test_over_the_rate_limit_a_token_gets_429_with_an_integer_retry_after(sbx):
    r = await sbx.client.put("/_admin/faults", json={"rate_limit_per_second": 2}, headers=sbx.admin)
    assert r.status_code == 200
    statuses = [(await sbx.api("GET", "/api/contacts", STATIC)).status_code for _ in range(2)]
    limited = await sbx.api("GET", "/api/contacts", STATIC)
    assert statuses == [200, 200] and limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert (await sbx.api("GET", "/api/contacts", "static:another-account")).status_code == 200
    sbx.clock.now += int(limited.headers["retry-after"])
    assert (await sbx.api("GET", "/api/contacts", STATIC)).status_code == 200


async def test_an_error_rate_of_one_makes_every_data_request_a_500(sbx):
    await sbx.client.put("/_admin/faults", json={"error_rate": 1}, headers=sbx.admin)
    assert (await sbx.api("GET", "/api/contacts", STATIC)).status_code == 500
    assert (await sbx.client.get("/healthz")).status_code == 200
    await sbx.client.put("/_admin/faults", json={"error_rate": 0}, headers=sbx.admin)
    assert (await sbx.api("GET", "/api/contacts", STATIC)).status_code == 200


async def test_latency_delays_each_data_response(sbx):
    await sbx.client.put("/_admin/faults", json={"latency_ms": 150}, headers=sbx.admin)
    started = time.perf_counter()
    assert (await sbx.api("GET", "/api/contacts", STATIC)).status_code == 200
    assert time.perf_counter() - started >= 0.15

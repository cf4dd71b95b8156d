"""Providers catalogue, project and connection sync config (seed 000) and what changes emit."""

from __future__ import annotations

from ferry_contracts.topics import CONNECTION_CHANGED
from support.kafka import Collector


async def test_the_catalogue_lists_each_provider_with_its_models_and_scopes(harness):
    body = (await harness.api.get("/internal/providers")).json()
    by_name = {p["name"]: p for p in body}
    assert (
        by_name["sandbox"]["auth_type"] == "oauth2" and by_name["sandbox_noauth"]["unique"] is True
    )
    contacts = next(m for m in by_name["sandbox"]["data_models"] if m["name"] == "CONTACTS")
    assert contacts["scopes"] == {"READ": ["contacts.read"], "WRITE": ["contacts.write"]}
    assert (
        await harness.api.get("/internal/providers", headers={"x-ferry-internal-token": "wrong"})
    ).status_code == 401


async def test_an_unset_project_config_is_the_default_and_a_put_round_trips(harness, project):
    path = f"/internal/projects/{project}/sync-config"
    assert (await harness.api.get(path)).json() == {
        "data_models": [],
        "full_sync_interval_hours": 24,
        "record_events_on_initial_sync": False,
        "is_default": True,
        "allowed_return_origins": [],
    }
    body = {
        "data_models": [
            {
                "data_model": "contacts",
                "frequency": "CUSTOM",
                "interval_minutes": 15,
                "access": "READ_WRITE",
            }
        ],
        "full_sync_interval_hours": 12,
    }
    assert (await harness.api.put(path, json=body)).status_code == 200
    got = (await harness.api.get(path)).json()
    assert got["data_models"] == [
        {
            "data_model": "CONTACTS",
            "frequency": "CUSTOM",
            "interval_minutes": 15,
            "access": "READ_WRITE",
        }
    ]
    assert got["full_sync_interval_hours"] == 12 and got["is_default"] is False


async def test_an_invalid_sync_config_is_refused_with_every_field_at_fault(harness, project):
    path = f"/internal/projects/{project}/sync-config"
    resp = await harness.api.put(
        path,
        json={
            "data_models": [
                {"data_model": "contacts", "frequency": "CUSTOM"},
                {"data_model": "payroll"},
            ]
        },
    )
    assert resp.status_code == 422
    assert [d["field"] for d in resp.json()["error"]["details"]] == [
        "data_models[0].interval_minutes",
        "data_models[1].data_model",
    ]
    resp = await harness.api.put(
        path, json={"data_models": [{"data_model": "contacts", "access": "EVERYTHING"}]}
    )
    assert (
        resp.status_code == 422
        and resp.json()["error"]["details"][0]["field"] == "data_models[0].access"
    )
    conn = await harness.create(
        project, sync_config={"data_models": [{"data_model": "files"}]}, expect=422
    )
    assert conn["error"]["details"][0]["field"] == "sync_config.data_models[0].data_model"
    # The sandbox's minimum is 5 minutes: a connection to it cannot sync every 2.
    conn = await harness.create(
        project,
        sync_config={
            "data_models": [
                {"data_model": "contacts", "frequency": "CUSTOM", "interval_minutes": 2}
            ]
        },
        expect=422,
    )
    assert [d["field"] for d in conn["error"]["details"]] == [
        "sync_config.data_models[0].interval_minutes"
    ]
    assert "at least 5" in conn["error"]["details"][0]["message"]


async def test_a_project_config_change_reaches_every_connection_that_follows_it(harness, project):
    follower = await harness.create(project, types=["CONTACTS", "INVOICES"])
    own = await harness.create(
        project, sync_config={"data_models": [{"data_model": "contacts", "frequency": "WEEKLY"}]}
    )
    assert [m["data_model"] for m in follower["resolved_sync_config"]] == ["CONTACTS", "INVOICES"]
    assert [(m["data_model"], m["frequency"]) for m in own["resolved_sync_config"]] == [
        ("CONTACTS", "WEEKLY")
    ]
    async with Collector(
        harness.bootstrap,
        CONNECTION_CHANGED,
        lambda e: e.project_id == project and e.data.reason == "sync_config_changed",
    ) as events:
        resp = await harness.api.put(
            f"/internal/projects/{project}/sync-config",
            json={
                "data_models": [
                    {"data_model": "contacts", "frequency": "HOURLY"},
                    {"data_model": "invoices", "access": "DISABLED"},
                ],
                "full_sync_interval_hours": 6,
            },
        )
        [event] = await events.wait(1)
    assert resp.json()["connections_updated"] == 1
    assert event.connection_id == follower["id"] and event.data.version == 2
    assert [(m.data_model, m.frequency) for m in event.data.sync_config] == [("CONTACTS", "HOURLY")]
    assert event.data.full_sync_interval_hours == 6
    assert [
        m["data_model"]
        for m in (await harness.get(project, follower["id"]))["resolved_sync_config"]
    ] == ["CONTACTS"]


async def test_raising_access_after_connecting_asks_to_reauthorize_and_the_connect_page_grants_it(
    harness, project
):
    conn, account = await harness.connected(project, types=["CONTACTS"])
    async with Collector(
        harness.bootstrap,
        CONNECTION_CHANGED,
        lambda e: e.connection_id == conn["id"] and e.data.version >= 4,
    ) as events:
        resp = await harness.patch(
            project,
            conn["id"],
            sync_config={
                "data_models": [
                    {"data_model": "contacts", "access": "READ_WRITE", "sync_from": "2024-01-01"}
                ]
            },
        )
        [changed] = await events.wait(1)
        body = resp.json()
        assert resp.status_code == 200 and body["status"] == "CONNECTED"
        assert body["reauthorization_required"] is True and body["missing_scopes"] == [
            "contacts.write"
        ]
        # Until the end user grants more, the model keeps syncing with the access it was granted.
        assert [(m.data_model, m.access, str(m.sync_from)) for m in changed.data.sync_config] == [
            ("CONTACTS", "READ", "2024-01-01")
        ]
        await harness.connect(conn, account)
        regranted = await events.wait(2)
    after = await harness.get(project, conn["id"])
    assert after["status"] == "CONNECTED" and after["reauthorization_required"] is False
    assert after["granted_scopes"] == ["contacts.read", "contacts.write"]
    assert [(m.access, m.data_model) for m in regranted[1].data.sync_config] == [
        ("READ_WRITE", "CONTACTS")
    ]
    assert (
        regranted[1].data.previous_status == "CONNECTED"
        and regranted[1].data.reason == "reauthorized"
    )


async def test_a_connection_without_authorization_connects_at_once_and_its_event_says_so(
    harness, project
):
    async with Collector(
        harness.bootstrap, CONNECTION_CHANGED, lambda e: e.project_id == project
    ) as events:
        conn = await harness.create(project, provider="sandbox_noauth", types=["files"])
        [event] = await events.wait(1)
    assert (
        conn["status"] == "CONNECTED"
        and event.data.status == "CONNECTED"
        and event.connection_id == conn["id"]
    )
    assert [m.data_model for m in event.data.sync_config] == ["FILES"]


async def test_a_return_url_outside_the_projects_allowed_origins_is_refused(harness, project):
    path = f"/internal/projects/{project}/sync-config"
    bad = await harness.api.put(
        path, json={"allowed_return_origins": ["https://app.example.com/x"]}
    )
    assert (
        bad.status_code == 422
        and bad.json()["error"]["details"][0]["field"] == "allowed_return_origins[0]"
    )
    ok = await harness.api.put(path, json={"allowed_return_origins": ["HTTP://127.0.0.1:9"]})
    assert ok.status_code == 200 and ok.json()["allowed_return_origins"] == ["http://127.0.0.1:9"]
    await harness.create(project)  # RETURN_URL is http://127.0.0.1:9/done
    refused = await harness.create(project, return_url="https://evil.example/done", expect=422)
    assert refused["error"]["details"][0]["field"] == "return_url"
    spaced = await harness.create(project, return_url="http://127.0.0.1:9/a b", expect=422)
    assert "return_url" in spaced["error"]["message"]

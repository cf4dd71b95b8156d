"""The first sync end to end: every service a separate process, real broker, real Postgres.

An end user connects through the connect page and the sandbox's consent page; the initial sync
pulls their data; the customer receives signed `sync_completed` webhooks and reads the records;
a change at the provider then arrives as record webhooks and through the cursor.
"""

from __future__ import annotations

import asyncio
import secrets

import httpx
import pytest

from ferry_cli.formbrowser import FormBrowser

pytestmark = pytest.mark.slow


async def _all_records(api, connection_id, model, cursor=None):
    out, pages = [], 0
    while True:
        params = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
        page = (
            await api.get(f"/v1/connections/{connection_id}/records/{model}", params=params)
        ).json()
        out += page["records"]
        cursor, pages = page["next_cursor"], pages + 1
        if not page["has_more"]:
            return out, cursor


async def test_an_end_user_connects_and_the_first_sync_arrives_as_signed_webhooks_and_records(
    platform, receiver
):
    project = platform.create_project()
    api = httpx.AsyncClient(
        base_url=platform.gateway_url,
        headers={"authorization": f"Bearer {project['secret_key']}"},
        timeout=30,
    )
    sandbox = httpx.AsyncClient(
        base_url=platform.sandbox_url,
        headers={"authorization": f"Bearer {platform.sandbox_admin_token}"},
        timeout=30,
    )
    account = "e2e-" + secrets.token_hex(3)
    try:
        ep = await api.post("/v1/webhook-endpoints", json={"url": f"{receiver.url}/webhooks"})
        assert ep.status_code == 201, ep.text
        receiver.secret = ep.json()["secret"]
        for model, count in (("contacts", 1200), ("invoices", 30)):
            assert (
                await sandbox.post(
                    f"/_admin/accounts/{account}/seed", json={"model": model, "count": count}
                )
            ).status_code == 200

        created = await api.post(
            "/v1/users/u-1/connections",
            json={
                "provider_name": "sandbox",
                "requested_data_types": ["contacts", "INVOICES"],
                "return_url": f"{receiver.url}/done",
            },
        )
        assert created.status_code == 201, created.text
        conn = created.json()
        assert conn["status"] == "AUTH_REQUIRED"

        browser = FormBrowser(stop_prefix=receiver.url)
        try:
            await browser.open(conn["redirect_url"])
            await browser.click("connect")
            await browser.click("approve", account=account)
        finally:
            await browser.close()
        assert browser.url.startswith(f"{receiver.url}/done?")
        assert "status=success" in browser.url and f"connection_id={conn['id']}" in browser.url
        assert (await api.get(f"/v1/connections/{conn['id']}")).json()["status"] == "CONNECTED"

        contacts = (
            await receiver.wait_for(
                "sync_completed", data_model="CONTACTS", connection_id=conn["id"], timeout=120
            )
        )[0]
        invoices = (
            await receiver.wait_for(
                "sync_completed", data_model="INVOICES", connection_id=conn["id"], timeout=120
            )
        )[0]
        assert contacts.verified and invoices.verified
        assert (
            contacts.data["counts"]["created"] == 1200 and contacts.data["is_initial_sync"] is True
        )
        assert invoices.data["counts"]["created"] == 30
        assert contacts.data["user_id"] == "u-1" and contacts.data["provider_name"] == "sandbox"
        assert (
            receiver.of_type("record_created", connection_id=conn["id"]) == []
        )  # initial sync: one summary, not 1,230 webhooks

        records, cursor = await _all_records(api, conn["id"], "CONTACTS")
        at_provider = (await sandbox.get(f"/_admin/accounts/{account}/records/contacts")).json()
        at_provider = at_provider["records"] if isinstance(at_provider, dict) else at_provider
        assert sorted(r["id"] for r in records) == sorted(r["id"] for r in at_provider)
        by_id = {r["id"]: r for r in at_provider}
        assert all(r["data"]["email"] == by_id[r["id"]]["email"] for r in records)

        changed = (
            await sandbox.post(
                f"/_admin/accounts/{account}/mutate",
                json={"model": "contacts", "create": 2, "update": 3, "delete": 1},
            )
        ).json()
        jobs = await api.post(
            f"/v1/connections/{conn['id']}/sync",
            json={"full_sync": True, "data_models_to_sync": [{"data_model": "contacts"}]},
        )
        assert jobs.status_code == 202, jobs.text
        job = jobs.json()[0]
        assert job["object"] == "sync_job" and job["data_model"] == "CONTACTS" and job["batch_id"]

        await receiver.wait_for("record_deleted", 1, connection_id=conn["id"], timeout=120)
        await receiver.wait_for(
            "sync_completed", 2, data_model="CONTACTS", connection_id=conn["id"], timeout=120
        )
        got = {
            k: sorted(r.data["record_id"] for r in receiver.of_type(k, connection_id=conn["id"]))
            for k in ("record_created", "record_updated", "record_deleted")
        }
        assert got == {
            "record_created": sorted(changed["created"]),
            "record_updated": sorted(changed["updated"]),
            "record_deleted": sorted(changed["deleted"]),
        }

        since, _ = await _all_records(api, conn["id"], "CONTACTS", cursor)
        assert {r["id"]: r["_ferry"]["action"] for r in since} == {
            **{i: "created" for i in changed["created"]},
            **{i: "updated" for i in changed["updated"]},
            **{i: "deleted" for i in changed["deleted"]},
        }
        # The job's status is the scheduler's view and follows the same sync.completed event as
        # the webhook, so it may trail the webhook by a moment.
        for _ in range(100):
            done = (await api.get(f"/v1/syncs/{job['id']}")).json()
            if done["status"] == "complete":
                break
            await asyncio.sleep(0.2)
        assert done["status"] == "complete" and done["counts"]["deleted"] == 1
    except Exception:
        print(platform.logs())
        raise
    finally:
        await api.aclose()
        await sandbox.aclose()

"""The `ferry dev --demo` walkthrough: connect an end user to the sandbox, sync, get webhooks."""

from __future__ import annotations

import secrets
import time
from typing import Any

import httpx

from .formbrowser import FormBrowser
from .receiver import WebhookReceiver


def _say(step: str) -> None:
    print(f"\n==> {step}", flush=True)


async def run_demo(state: dict[str, Any], contacts: int = 250, invoices: int = 40) -> int:
    receiver = await WebhookReceiver().start()
    api = httpx.AsyncClient(
        base_url=state["gateway_url"], headers={"authorization": f"Bearer {state['secret_key']}"}, timeout=30
    )
    sandbox = httpx.AsyncClient(
        base_url=state["sandbox_url"], headers={"authorization": f"Bearer {state['sandbox_admin_token']}"}, timeout=30
    )
    account = "demo-" + secrets.token_hex(3)
    try:
        _say("Register a webhook endpoint (a local receiver that verifies signatures)")
        ep = (await api.post("/v1/webhook-endpoints", json={"url": f"{receiver.url}/webhooks", "description": "Ferry demo"})).raise_for_status().json()
        receiver.secret = ep["secret"]
        print(f"    endpoint {ep['id']} -> {ep['url']}")

        _say(f"Give the end user some data at the sandbox provider (account {account})")
        for model, count in (("contacts", contacts), ("invoices", invoices)):
            (await sandbox.post(f"/_admin/accounts/{account}/seed", json={"model": model, "count": count})).raise_for_status()
            print(f"    {count} {model}")

        _say("Create a connection for end user 'demo-user'")
        conn = (await api.post("/v1/users/demo-user/connections", json={
            "provider_name": "sandbox",
            "requested_data_types": ["CONTACTS", "INVOICES"],
            "return_url": f"{receiver.url}/done",
        })).raise_for_status().json()
        print(f"    {conn['id']}: {conn['status']}, redirect_url {conn['redirect_url']}")

        _say("The end user opens the connect page, clicks Connect, and approves at the provider")
        browser = FormBrowser(stop_prefix=receiver.url)
        try:
            await browser.open(conn["redirect_url"])
            await browser.click("connect")
            await browser.click("approve", account=account)
        finally:
            await browser.close()
        print(f"    returned to {browser.url}")
        started = time.monotonic()

        _say("Initial sync: waiting for the sync_completed webhooks")
        for model in ("CONTACTS", "INVOICES"):
            hook = (await receiver.wait_for("sync_completed", data_model=model, connection_id=conn["id"], timeout=120))[0]
            print(f"    {model}: counts {hook.data['counts']} (signature verified: {hook.verified})")
        print(f"    initial sync done {time.monotonic() - started:.1f}s after consent")

        page = (await api.get(f"/v1/connections/{conn['id']}/records/CONTACTS", params={"limit": 3})).raise_for_status().json()
        print(f"    first contacts: {[r['data'].get('email') for r in page['records']]}")
        cursor = (await _drain(api, conn["id"], "CONTACTS"))

        _say("Change data at the provider (2 created, 3 updated, 1 deleted) and request a full sync")
        changed = (await sandbox.post(f"/_admin/accounts/{account}/mutate",
                                      json={"model": "contacts", "create": 2, "update": 3, "delete": 1})).raise_for_status().json()
        jobs = (await api.post(f"/v1/connections/{conn['id']}/sync",
                               json={"full_sync": True, "data_models_to_sync": [{"data_model": "CONTACTS"}]})).raise_for_status().json()
        print(f"    job {jobs[0]['id']} {jobs[0]['status']}")
        await receiver.wait_for("record_created", 2, connection_id=conn["id"], timeout=120)
        await receiver.wait_for("record_updated", 3, connection_id=conn["id"], timeout=120)
        await receiver.wait_for("record_deleted", 1, connection_id=conn["id"], timeout=120)
        for kind in ("record_created", "record_updated", "record_deleted"):
            ids = sorted(r.data["record_id"] for r in receiver.of_type(kind, connection_id=conn["id"]))
            print(f"    {kind}: {ids}")
        expected = set(changed["created"]) | set(changed["updated"]) | set(changed["deleted"])
        since = (await api.get(f"/v1/connections/{conn['id']}/records/CONTACTS", params={"cursor": cursor})).raise_for_status().json()
        print(f"    polling with the last cursor returns {len(since['records'])} changed records "
              f"({'matches' if {r['id'] for r in since['records']} == expected else 'DIFFERS from'} what changed)")

        status = (await api.get(f"/v1/connections/{conn['id']}/sync-status")).raise_for_status().json()
        for m in status["data_models"]:
            print(f"    {m['data_model']}: {m['status']}, last synced {m['last_synced_at']}, next {m['next_sync_at']}")
        _say("Demo complete")
        return 0
    except Exception as exc:  # noqa: BLE001 - the demo reports what failed and exits non-zero
        print(f"\nDemo failed: {type(exc).__name__}: {exc}")
        return 1
    finally:
        await api.aclose()
        await sandbox.aclose()
        await receiver.stop()


async def _drain(api: httpx.AsyncClient, connection_id: str, model: str) -> str:
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 1000}
        if cursor:
            params["cursor"] = cursor
        page = (await api.get(f"/v1/connections/{connection_id}/records/{model}", params=params)).raise_for_status().json()
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return cursor

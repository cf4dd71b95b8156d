"""The `ferry dev --demo` walkthrough: connect an end user to the sandbox, sync, get
webhooks."""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable
from typing import Any

import httpx

from .formbrowser import FormBrowser
from .receiver import WebhookReceiver


def _say(step: str) -> None:
    print(f"\n==> {step}", flush=True)


async def run_demo(state: dict[str, Any], contacts: int = 250, invoices: int = 40) -> int:
    receiver = await WebhookReceiver().start()
    api = _client(state["gateway_url"], state["secret_key"])
    sandbox = _client(state["sandbox_url"], state["sandbox_admin_token"])
    account = "demo-" + secrets.token_hex(3)
    try:
        await _register_endpoint(api, receiver)
        await _seed(sandbox, account, contacts, invoices)
        conn = await _connect(api, receiver, account)
        cursor = await _initial_sync(api, receiver, conn["id"])
        await _change_and_resync(api, sandbox, receiver, account, conn["id"], cursor)
        await _show_status(api, conn["id"])
        _say("Demo complete")
        return 0
    except Exception as exc:  # noqa: BLE001 - the demo reports what failed and exits non-zero
        print(f"\nDemo failed: {type(exc).__name__}: {exc}")
        return 1
    finally:
        await api.aclose()
        await sandbox.aclose()
        await receiver.stop()


def _client(base_url: str, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url, headers={"authorization": f"Bearer {token}"}, timeout=30)


async def _json(response: Awaitable[httpx.Response]) -> Any:
    return (await response).raise_for_status().json()


async def _register_endpoint(api: httpx.AsyncClient, receiver: WebhookReceiver) -> None:
    _say("Register a webhook endpoint (a local receiver that verifies signatures)")
    ep = await _json(api.post("/v1/webhook-endpoints", json={
        "url": f"{receiver.url}/webhooks", "description": "Ferry demo"}))
    receiver.secret = ep["secret"]
    print(f"    endpoint {ep['id']} -> {ep['url']}")


async def _seed(sandbox: httpx.AsyncClient, account: str, contacts: int, invoices: int) -> None:
    _say(f"Give the end user some data at the sandbox provider (account {account})")
    for model, count in (("contacts", contacts), ("invoices", invoices)):
        await _json(sandbox.post(f"/_admin/accounts/{account}/seed",
                                 json={"model": model, "count": count}))
        print(f"    {count} {model}")


async def _connect(api: httpx.AsyncClient, receiver: WebhookReceiver,
                   account: str) -> dict[str, Any]:
    _say("Create a connection for end user 'demo-user'")
    conn: dict[str, Any] = await _json(api.post("/v1/users/demo-user/connections", json={
        "provider_name": "sandbox",
        "requested_data_types": ["CONTACTS", "INVOICES"],
        "return_url": f"{receiver.url}/done",
    }))
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
    return conn


async def _initial_sync(api: httpx.AsyncClient, receiver: WebhookReceiver,
                        connection_id: str) -> str:
    """Wait for the initial sync's webhooks, show a few records; the cursor after all of them."""
    started = time.monotonic()
    _say("Initial sync: waiting for the sync_completed webhooks")
    for model in ("CONTACTS", "INVOICES"):
        hook = (await receiver.wait_for("sync_completed", data_model=model,
                                        connection_id=connection_id, timeout=120))[0]
        print(f"    {model}: counts {hook.data['counts']} (signature verified: {hook.verified})")
    print(f"    initial sync done {time.monotonic() - started:.1f}s after consent")

    page = await _json(api.get(f"/v1/connections/{connection_id}/records/CONTACTS",
                               params={"limit": 3}))
    print(f"    first contacts: {[r['data'].get('email') for r in page['records']]}")
    return await _drain(api, connection_id, "CONTACTS")


async def _change_and_resync(api: httpx.AsyncClient, sandbox: httpx.AsyncClient,
                             receiver: WebhookReceiver, account: str, connection_id: str,
                             cursor: str) -> None:
    _say("Change data at the provider (2 created, 3 updated, 1 deleted) and request a full sync")
    changed = await _json(sandbox.post(f"/_admin/accounts/{account}/mutate", json={
        "model": "contacts", "create": 2, "update": 3, "delete": 1}))
    jobs = await _json(api.post(f"/v1/connections/{connection_id}/sync", json={
        "full_sync": True, "data_models_to_sync": [{"data_model": "CONTACTS"}]}))
    print(f"    job {jobs[0]['id']} {jobs[0]['status']}")
    await receiver.wait_for("record_created", 2, connection_id=connection_id, timeout=120)
    await receiver.wait_for("record_updated", 3, connection_id=connection_id, timeout=120)
    await receiver.wait_for("record_deleted", 1, connection_id=connection_id, timeout=120)
    for kind in ("record_created", "record_updated", "record_deleted"):
        ids = sorted(r.data["record_id"]
                     for r in receiver.of_type(kind, connection_id=connection_id))
        print(f"    {kind}: {ids}")
    expected = set(changed["created"]) | set(changed["updated"]) | set(changed["deleted"])
    since = await _json(api.get(f"/v1/connections/{connection_id}/records/CONTACTS",
                                params={"cursor": cursor}))
    same = {r["id"] for r in since["records"]} == expected
    print(f"    polling with the last cursor returns {len(since['records'])} changed records "
          f"({'matches' if same else 'DIFFERS from'} what changed)")


async def _show_status(api: httpx.AsyncClient, connection_id: str) -> None:
    status = await _json(api.get(f"/v1/connections/{connection_id}/sync-status"))
    for m in status["data_models"]:
        print(f"    {m['data_model']}: {m['status']}, last synced {m['last_synced_at']}, "
              f"next {m['next_sync_at']}")


async def _drain(api: httpx.AsyncClient, connection_id: str, model: str) -> str:
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 1000}
        if cursor:
            params["cursor"] = cursor
        page = await _json(api.get(f"/v1/connections/{connection_id}/records/{model}",
                                   params=params))
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return cursor

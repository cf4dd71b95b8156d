"""The sandbox as a real OS process (`python -m ferry_sandbox --port N`), driven the way Ferry
does.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from ferry_connectors import ConnectorClient, get_definition
from ferry_kit.infra import free_port
from sandbox_harness import challenge_of
from support.procs import ServiceProcess

from ferry_cli.formbrowser import FormBrowser

pytestmark = pytest.mark.slow

ADMIN = "sbx-" + secrets.token_hex(8)
CALLBACK = "http://127.0.0.1:9/oauth/callback"  # never contacted: the browser stops there


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    port = free_port()
    env = {
        "FERRY_SANDBOX_ADMIN_TOKEN": ADMIN,
        "FERRY_SANDBOX_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "FERRY_SANDBOX_PORT": str(free_port()),
    }  # --port must win over the environment
    proc = ServiceProcess("ferry_sandbox", env, ["--port", str(port)]).start()
    try:
        proc.wait_http(f"http://127.0.0.1:{port}/healthz", timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.stop()


async def test_a_connector_pages_through_what_an_end_user_approved_in_the_browser(sandbox_url):
    admin = httpx.AsyncClient(
        base_url=sandbox_url, headers={"authorization": f"Bearer {ADMIN}"}, timeout=30
    )
    http = httpx.AsyncClient(timeout=30)
    browser = FormBrowser(stop_prefix=CALLBACK)
    try:
        assert (
            await admin.post(
                "/_admin/accounts/proc-acme/seed", json={"model": "contacts", "count": 2500}
            )
        ).status_code == 200
        verifier = secrets.token_urlsafe(48)
        query = {
            "response_type": "code",
            "client_id": "ferry",
            "redirect_uri": CALLBACK,
            "scope": " ".join(get_definition("sandbox").models["CONTACTS"].scopes.READ),
            "state": "st-9",
            "code_challenge": challenge_of(verifier),
            "code_challenge_method": "S256",
        }
        await browser.open(f"{sandbox_url}/oauth/authorize?{urlencode(query)}")
        await browser.click("approve", account="proc-acme")
        assert browser.url.startswith(CALLBACK)
        back = parse_qs(urlsplit(browser.url).query)
        assert back["state"] == ["st-9"]

        tokens = (
            await http.post(
                f"{sandbox_url}/oauth/token",
                data={
                    "grant_type": "authorization_code",
                    "code": back["code"][0],
                    "redirect_uri": CALLBACK,
                    "code_verifier": verifier,
                    "client_id": "ferry",
                    "client_secret": "anything",
                },
            )
        ).json()
        client = ConnectorClient(
            get_definition("sandbox"),
            http,
            base_url=sandbox_url,
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        )
        ids, state, pages = [], None, 0
        while True:
            page = await client.fetch_page("CONTACTS", state)
            ids += [r["id"] for r in page.records]
            pages += 1
            if page.next_state is None:
                break
            state = page.next_state
        assert pages == 3 and len(ids) == len(set(ids)) == 2500
        at_provider = (await admin.get("/_admin/accounts/proc-acme/records/contacts")).json()[
            "records"
        ]
        assert ids == [r["id"] for r in at_provider]
    finally:
        await browser.close()
        await admin.aclose()
        await http.aclose()


def test_the_process_refuses_to_start_without_an_admin_token():
    env = {"PATH": "", "FERRY_SANDBOX_PORT": str(free_port())}
    done = subprocess.run(
        [sys.executable, "-m", "ferry_sandbox"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "FERRY_SANDBOX_ADMIN_TOKEN" in done.stderr

"""No secret reaches a log: every service runs at DEBUG, an end user connects and syncs, a token
is refreshed, and a refresh fails on Ferry's client; no log line holds a token or the secret."""

from __future__ import annotations

import httpx
import pytest
from ferry_connections.crypto import Cipher
from support.e2e import Api
from support.platforms import ProcessPlatform

pytestmark = pytest.mark.slow

CLIENT_SECRET = "cs-" + "K3yQ" * 8


@pytest.fixture(scope="module")
def debug_platform(infra):
    own = infra.isolated()
    p = ProcessPlatform(own, FERRY_LOG_LEVEL="DEBUG", sandbox_client_secret=CLIENT_SECRET).start()
    try:
        yield p
    finally:
        p.stop()
        own.stop()


async def _tokens(platform, cid: str) -> list[str]:
    import asyncpg

    conn = await asyncpg.connect(platform.env["FERRY_DATABASE_URL"])
    try:
        row = await conn.fetchrow(
            "SELECT access_token, refresh_token FROM connections.tokens WHERE connection_id = $1",
            cid,
        )
    finally:
        await conn.close()
    cipher = Cipher.from_settings(platform.env["FERRY_TOKEN_KEYS"], "t1")
    return [cipher.decrypt(row[k], cid) for k in ("access_token", "refresh_token")]


async def test_no_token_or_client_secret_appears_in_any_log_line(debug_platform):
    api = Api(debug_platform, debug_platform.create_project())
    internal = httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{debug_platform.ports['connections']}",
        headers={"x-ferry-internal-token": debug_platform.env["FERRY_INTERNAL_TOKEN"]},
    )
    try:
        conn = await api.connect(["contacts"])
        await api.seed(conn["account"], "contacts", 20)
        await api.wait_jobs(conn["id"], 1, data_model="CONTACTS")
        secrets = await _tokens(debug_platform, conn["id"])
        # A refresh (new tokens), then a refresh refused because of Ferry's client.
        refreshed = await internal.post(f"/internal/connections/{conn['id']}/credentials/refresh")
        assert refreshed.status_code == 200, refreshed.text
        secrets += await _tokens(debug_platform, conn["id"])
        await api.sandbox.put("/_admin/faults", json={"token_error": "invalid_client"})
        await api.sandbox.post("/_admin/tokens/expire", json={"account": conn["account"]})
        [job] = await api.sync(conn["id"], [{"data_model": "contacts"}])
        done = await api.wait_job(job["id"])
        assert done["status"] == "failed" and done["error"].startswith("provider_auth_config"), done
        assert (await api.http.get(f"/v1/connections/{conn['id']}")).json()["status"] == "CONNECTED"
    finally:
        await api.sandbox.put("/_admin/faults", json={"token_error": ""})
        await internal.aclose()
        await api.close()
    logs = {
        name: p.log_path.read_text(errors="replace")
        for name, p in debug_platform.procs.items()
        if name != "sandbox"
    }  # the provider, not Ferry
    # The logs were captured: the operator was told of the refused client.
    assert "refused the project's OAuth client" in logs["connections"]
    for secret in [*secrets, CLIENT_SECRET]:
        leaks = [name for name, text in logs.items() if secret in text]
        assert not leaks, f"a secret appears in the logs of {leaks}"

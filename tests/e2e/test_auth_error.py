"""A grant the end user revokes at the provider, end to end: every service its own process.

The executor's request gets a 401, the connections service's refresh is refused, the connection
goes to AUTH_ERROR, the job fails with an error the customer can act on, and the customer is
told by a signed `connection_status_changed` webhook.
"""

from __future__ import annotations

import pytest
from support.e2e import Api

pytestmark = pytest.mark.slow


async def test_a_revoked_grant_ends_in_auth_error_a_failed_job_and_a_signed_webhook(
    platform, receiver
):
    api = Api(platform, platform.create_project())
    try:
        ep = await api.http.post("/v1/webhook-endpoints", json={"url": f"{receiver.url}/webhooks"})
        assert ep.status_code == 201, ep.text
        receiver.secret = ep.json()["secret"]
        conn = await api.connect(["contacts"])
        await api.wait_jobs(conn["id"], 1, data_model="CONTACTS")
        await receiver.wait_for(
            "connection_status_changed", connection_id=conn["id"], status="CONNECTED", timeout=60
        )

        sandbox = api.sandbox
        assert (
            await sandbox.post("/_admin/tokens/revoke", json={"account": conn["account"]})
        ).json()["revoked_grants"] >= 1
        assert (
            await sandbox.post("/_admin/tokens/expire", json={"account": conn["account"]})
        ).status_code == 200

        [job] = await api.sync(conn["id"], [{"data_model": "contacts"}])
        done = await api.wait_job(job["id"])
        assert done["status"] == "failed", done
        assert done["error"].startswith("auth_error:"), done["error"]

        [hook] = await receiver.wait_for(
            "connection_status_changed", connection_id=conn["id"], status="AUTH_ERROR", timeout=60
        )
        assert (
            hook.verified
            and hook.data["previous_status"] == "CONNECTED"
            and hook.data["user_id"] == "u-1"
        )
        now = (await api.http.get(f"/v1/connections/{conn['id']}")).json()
        assert now["status"] == "AUTH_ERROR" and now["disconnected_at"]
    except Exception:
        print(platform.logs())
        raise
    finally:
        await api.close()

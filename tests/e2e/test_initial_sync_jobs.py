"""Creating a connection that connects at once answers with its initial sync's job ids."""

from __future__ import annotations

import asyncio

import pytest
from support.e2e import Api

pytestmark = pytest.mark.slow


async def test_a_connection_connected_at_creation_names_the_jobs_of_its_initial_sync(platform):
    api = Api(platform, platform.create_project())
    try:
        resp = await api.http.post("/v1/users/u-initial/connections", json={
            "provider_name": "sandbox_noauth", "requested_data_types": ["CONTACTS", "INVOICES"]})
        assert resp.status_code == 201, resp.text
        created = resp.json()
        assert created["status"] == "CONNECTED"
        assert len(created["initial_sync_jobs"]) == 2
        for job_id in created["initial_sync_jobs"]:
            await _exists(api, job_id)  # the executor makes it a moment after the answer
            job = await api.wait_job(job_id)
            assert job["status"] == "complete" and job["is_initial_sync"]
            assert job["connection_id"] == created["id"]
        pending = await api.http.post("/v1/users/u-initial/connections", json={
            "provider_name": "sandbox", "requested_data_types": ["CONTACTS"]})
        assert pending.json()["initial_sync_jobs"] == []
    finally:
        await api.close()


async def _exists(api: Api, job_id: str) -> None:
    for _ in range(150):
        if (await api.http.get(f"/v1/syncs/{job_id}")).status_code == 200:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"no job {job_id} after 30 s")

"""Definitions written outside the repository, loaded through FERRY_CONNECTORS_PATH, sync through
the real services (each its own process, real broker and Postgres): several pages, then the
changes, then the deletions in the model's style. No Ferry code knows these providers."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from support.e2e import Api
from support.platforms import ProcessPlatform

pytestmark = pytest.mark.slow

STYLES = ["replay_cursor", "replay_stripe", "replay_soql", "replay_link", "replay_offset",
          "replay_pages", "replay_search"]
FULL_SYNC_DIFF = {"replay_soql", "replay_search", "replay_pages"}


@pytest.fixture(scope="module")
def platform(infra, style_folder):
    own = infra.isolated()
    p = ProcessPlatform(own, FERRY_EXECUTOR_LEASE_SECONDS="3",
                        FERRY_CONNECTORS_PATH=str(style_folder)).start()
    try:
        yield p
    finally:
        p.stop()
        own.stop()


async def _live(api: Api, cid: str) -> set[str]:
    resp = await api.http.get(f"/v1/connections/{cid}/records/ITEMS",
                              params={"limit": 1000, "include_deleted": "false"})
    assert resp.status_code == 200, resp.text
    return {r["id"] for r in resp.json()["records"]}


async def _one_style(api: Api, replay, name: str) -> None:
    async with httpx.AsyncClient(base_url=replay.url, timeout=10) as admin:
        await admin.post(f"/_admin/{name}/seed", json={"count": 25})
        created = await api.http.post("/v1/users/u-1/connections", json={
            "provider_name": name, "requested_data_types": ["ITEMS"]})
        assert created.status_code == 201, created.text
        cid = created.json()["id"]
        [initial] = await api.wait_jobs(cid, 1, data_model="ITEMS")
        assert initial["pagination_state"]["pages"] == 3, (name, initial)
        prefix = "item:" if name == "replay_search" else ""
        assert len(await _live(api, cid)) == 25
        changed = (await admin.post(f"/_admin/{name}/mutate",
                                    json={"update": 2, "create": 1, "delete": 1})).json()
    [job] = await api.sync(cid, [{"data_model": "ITEMS"}], full_sync=name in FULL_SYNC_DIFF)
    done = await api.wait_job(job["id"])
    assert done["status"] == "complete", (name, done)
    assert done["counts"]["created"] == 1 and done["counts"]["updated"] == 2, (name, done)
    assert done["counts"]["deleted"] == 1, (name, done)
    live = await _live(api, cid)
    assert prefix + changed["deleted"][0] not in live and prefix + changed["created"][0] in live
    assert len(live) == 25, name


async def test_every_style_syncs_pages_changes_and_deletions_through_the_services(platform, replay):
    api = Api(platform, platform.create_project())
    try:
        results = await asyncio.gather(*(_one_style(api, replay, n) for n in STYLES),
                                       return_exceptions=True)
    finally:
        await api.close()
    failed = {n: r for n, r in zip(STYLES, results, strict=True) if r is not None}
    assert not failed, failed

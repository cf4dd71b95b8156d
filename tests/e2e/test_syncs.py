"""Scheduling and execution end to end: every service its own process, real broker and Postgres."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import asyncpg
import httpx
import pytest
from ferry_contracts.internal.executor import JobOut
from support.e2e import Api

pytestmark = pytest.mark.slow

SEED_003_FIELDS = {
    "object",
    "id",
    "connection_id",
    "data_model",
    "model_id",
    "status",
    "attempt",
    "batch_id",
    "created_at",
    "modified_at",
    "started_at",
    "completed_at",
    "error",
    "entity_id",
    "file_id",
    "is_initial_sync",
    "is_one_off",
    "full_sync",
    "pagination_state",
    "timerange_start",
    "timerange_end",
    "counts",
}


@pytest.fixture
async def api(platform):
    client = Api(platform, platform.create_project())
    try:
        yield client
    finally:
        await client.faults()
        await client.close()


async def test_connecting_starts_the_initial_sync_and_later_syncs_fetch_only_what_changed(api):
    account = "inc-" + api.platform.sandbox_admin_token[-6:]
    await api.seed(account, "contacts", 2500)
    conn = await api.connect(["contacts"], account=account)
    [initial] = await api.wait_jobs(conn["id"], 1, data_model="CONTACTS")
    assert initial["is_initial_sync"] is True and initial["counts"]["created"] == 2500
    assert initial["pagination_state"]["pages"] == 3

    changed = (
        await api.sandbox.post(
            f"/_admin/accounts/{account}/mutate",
            json={"model": "contacts", "update": 3, "create": 1},
        )
    ).json()
    before = await api.requests_made()
    [job] = await api.sync(conn["id"], [{"data_model": "contacts"}])
    done = await api.wait_job(job["id"])
    assert (
        done["status"] == "complete"
        and done["is_initial_sync"] is False
        and done["full_sync"] is False
    )
    assert done["counts"] == {
        "fetched": 4,
        "created": 1,
        "updated": 3,
        "deleted": 0,
        "unchanged": 0,
    }
    assert await api.requests_made() - before == 1  # one page: only the changed records
    assert done["timerange_start"] is not None  # started at the high-water mark of the last sync
    records, _ = await api.records(conn["id"], "CONTACTS")
    assert len(records) == 2501 and set(changed["updated"]) <= {r["id"] for r in records}


async def test_a_manual_sync_answers_seed_003_jobs_sharing_one_batch_and_honours_sync_from(api):
    conn = await api.connect(["contacts", "invoices"])
    await api.wait_jobs(conn["id"], 2)
    await api.seed(conn["account"], "contacts", 50)
    tomorrow = date.today() + timedelta(days=1)
    jobs = await api.sync(
        conn["id"],
        [{"data_model": "contacts", "sync_from": tomorrow.isoformat()}, {"data_model": "INVOICES"}],
        full_sync=True,
    )
    assert len(jobs) == 2 and len({j["batch_id"] for j in jobs}) == 1
    for j in jobs:
        assert SEED_003_FIELDS <= set(j), SEED_003_FIELDS - set(j)
        assert (
            j["object"] == "sync_job"
            and j["status"] in ("queued", "running")
            and j["is_one_off"] is True
        )
    contacts = await api.wait_job(next(j["id"] for j in jobs if j["data_model"] == "CONTACTS"))
    # Every record was made today: nothing is on or after tomorrow, so nothing is fetched...
    assert contacts["status"] == "complete" and contacts["counts"]["fetched"] == 0
    assert contacts["timerange_start"].startswith(tomorrow.isoformat())
    # ...and a full sync bounded by sync_from deletes nothing outside its window.
    records, _ = await api.records(conn["id"], "CONTACTS")
    assert len(records) == 0 or all(r["_ferry"]["action"] != "deleted" for r in records)

    today = await api.sync(
        conn["id"], [{"data_model": "contacts", "sync_from": date.today().isoformat()}]
    )
    assert (await api.wait_job(today[0]["id"]))["counts"]["created"] == 50


async def test_a_cancelled_job_stops_and_a_second_request_is_coalesced_with_the_waiting_one(api):
    conn = await api.connect(["contacts"])
    await api.wait_jobs(conn["id"], 1)
    await api.seed(conn["account"], "contacts", 6000)
    await api.faults(latency_ms=400)
    [first] = await api.sync(conn["id"], full_sync=True)
    await api.wait_job(first["id"], ("running",))
    [second] = await api.sync(conn["id"])
    [third] = await api.sync(conn["id"], full_sync=True)
    assert second["id"] != first["id"] and second["status"] == "queued"
    assert third["id"] == second["id"] and third["full_sync"] is True  # widened, not a parallel run
    running = [j for j in await api.jobs(conn["id"], status="running")]
    assert [j["id"] for j in running] == [first["id"]]

    resp = await api.http.post(f"/v1/syncs/{first['id']}/cancel")
    assert resp.status_code == 200, resp.text
    cancelled = await api.wait_job(first["id"])
    assert cancelled["status"] == "cancelled" and cancelled["completed_at"]
    assert cancelled["counts"]["fetched"] < 6000
    await api.faults()
    follow_up = await api.wait_job(second["id"])
    assert follow_up["status"] == "complete" and follow_up["counts"]["fetched"] == 6000
    again = await api.http.post(f"/v1/syncs/{first['id']}/cancel")
    assert again.status_code == 409


async def test_a_storm_of_429s_ends_complete_with_no_record_lost(api):
    conn = await api.connect(["contacts"])
    await api.wait_jobs(conn["id"], 1)
    await api.seed(conn["account"], "contacts", 5000)
    await api.faults(rate_limit_per_second=1)
    [job] = await api.sync(conn["id"], full_sync=True)
    done = await api.wait_job(job["id"], timeout=120)
    assert done["status"] == "complete", done
    records, _ = await api.records(conn["id"], "CONTACTS")
    at_provider = (
        await api.sandbox.get(f"/_admin/accounts/{conn['account']}/records/contacts")
    ).json()["records"]
    assert sorted(r["id"] for r in records) == sorted(r["id"] for r in at_provider)


async def test_an_executor_killed_mid_sync_resumes_on_restart_with_every_record_once(api):
    conn = await api.connect(["contacts"])
    await api.wait_jobs(conn["id"], 1)
    await api.seed(conn["account"], "contacts", 8000)
    await api.faults(latency_ms=500)
    [job] = await api.sync(conn["id"], full_sync=True)
    deadline = asyncio.get_running_loop().time() + 60
    while (await api.job(job["id"]))["pagination_state"].get("pages", 0) < 2:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.1)
    api.platform.procs["executor"].kill()
    await api.faults()
    api.platform.start_service("executor")
    done = await api.wait_job(job["id"], timeout=120)
    assert done["status"] == "complete" and done["attempt"] >= 2
    assert done["counts"]["created"] == 8000
    records, _ = await api.records(conn["id"], "CONTACTS")
    ids = [r["id"] for r in records]
    assert len(ids) == 8000 and len(set(ids)) == 8000


async def test_a_job_poll_shows_the_runs_progress_and_ends_as_the_executor_says(api):
    conn = await api.connect(["contacts"])
    await api.wait_jobs(conn["id"], 1)
    await api.seed(conn["account"], "contacts", 6000)
    await api.faults(latency_ms=400)  # six pages of 1,000, ~2.4 s: progress goes out each second
    [job] = await api.sync(conn["id"])
    fetched_while_running: list[int] = []
    while (polled := await api.job(job["id"]))["status"] in ("queued", "running"):
        if polled["status"] == "running":
            fetched_while_running.append(polled["pagination_state"].get("fetched", 0))
        await asyncio.sleep(0.05)
    await api.faults()
    assert polled["status"] == "complete" and polled["counts"]["fetched"] == 6000
    assert fetched_while_running == sorted(fetched_while_running)  # never back in time
    assert any(0 < n < 6000 for n in fetched_while_running), fetched_while_running
    # The poll (the gateway's copy by now) says exactly what the executor, which owns the job,
    # answers.
    platform = api.platform
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{platform.ports['executor']}",
        headers={"x-ferry-internal-token": platform.env["FERRY_INTERNAL_TOKEN"]},
    ) as executor:
        owned = (await executor.get(f"/internal/syncs/{job['id']}")).json()
    assert await api.job(job["id"]) == JobOut.model_validate(owned).public()
    copies = await asyncpg.connect(platform.env["FERRY_DATABASE_URL"])
    try:
        kept = await copies.fetchval(
            "SELECT version FROM gateway.sync_jobs WHERE id = $1", job["id"])
    finally:
        await copies.close()
    assert kept == owned["version"]

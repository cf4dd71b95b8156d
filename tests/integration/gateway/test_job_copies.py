"""The gateway's copies of sync jobs against the real broker and Postgres: kept from
`sync.job.changed`, the newest version winning, and answered without the executor while fresh.

No executor runs here: a poll that asks it answers 503, which is how these tests see that the
gateway asked.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from ferry_contracts import Envelope
from ferry_contracts.sync import SyncCounts, SyncJob, SyncJobChanged
from ferry_contracts.topics import SYNC_JOB_CHANGED
from ferry_gateway.bootstrap import start, stop
from ferry_gateway.settings import Settings
from ferry_kit.infra import free_port
from support.kafka import publish

ADMIN = "admin-token-for-tests-0123456789"


@pytest.fixture(scope="module")
async def gateway(service_env):
    port = free_port()
    settings = Settings(admin_token=ADMIN, gateway_port=port, public_host="ferry.test",
                        executor_url=f"http://127.0.0.1:{free_port()}",  # nothing listens
                        connections_url=f"http://127.0.0.1:{free_port()}")
    service = await start(settings)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        yield client
    await stop(service)


async def _project(gateway: httpx.AsyncClient, name: str) -> dict:
    resp = await gateway.post("/v1/projects", json={"name": name},
                              headers={"authorization": f"Bearer {ADMIN}"})
    assert resp.status_code == 201
    return resp.json()


def _said(job_id: str, project: str, version: int, fetched: int, status: str = "running",
          ago: float = 0.0) -> Envelope:
    job = SyncJob(id=job_id, connection_id="con_" + job_id[4:], data_model="CONTACTS",
                  model_id="sandbox.CONTACTS", status=status,  # type: ignore[arg-type]
                  created_at=datetime.now(UTC), pagination_state={"fetched": fetched},
                  counts=SyncCounts(fetched=fetched))
    event = Envelope.of(SyncJobChanged(job=job, previous_status="running", version=version),
                        project_id=project, connection_id=job.connection_id)
    return event.model_copy(update={"occurred_at": event.occurred_at - timedelta(seconds=ago)})


async def _poll(gateway: httpx.AsyncClient, job_id: str, key: str, until, timeout=30.0) -> list:
    """Every answer to `GET /v1/syncs/{id}` until `until(status, body)`."""
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        resp = await gateway.get(f"/v1/syncs/{job_id}", headers={"authorization": f"Bearer {key}"})
        seen.append((resp.status_code, resp.json()))
        if until(*seen[-1]):
            return seen
        await asyncio.sleep(0.05)
    raise AssertionError(f"not seen in {timeout}s: {seen[-3:]}")


async def test_a_jobs_newest_version_is_answered_without_the_executor(gateway, pg, unique, infra):
    project = await _project(gateway, "copies-" + unique)
    key, job_id = project["secret_key"], "job_" + unique * 4
    await publish(infra.bootstrap, SYNC_JOB_CHANGED, [_said(job_id, project["project_id"], 3, 300)])
    seen = await _poll(gateway, job_id, key, lambda s, b: s == 200)
    body = seen[-1][1]
    assert body["counts"]["fetched"] == 300 and body["project_id"] == project["project_id"]
    assert "version" not in body
    # An older version arriving late changes nothing; the newer one after it does.
    await publish(infra.bootstrap, SYNC_JOB_CHANGED, [
        _said(job_id, project["project_id"], 2, 200), _said(job_id, project["project_id"], 4, 400)])
    seen = await _poll(gateway, job_id, key, lambda s, b: b["counts"]["fetched"] == 400)
    assert {b["counts"]["fetched"] for s, b in seen} <= {300, 400}
    assert all(s == 200 for s, _ in seen)  # never the executor (it would answer 503)
    assert await pg.fetchval("SELECT version FROM gateway.sync_jobs WHERE id = $1", job_id) == 4


async def test_another_projects_key_does_not_see_the_copy(gateway, unique, infra):
    mine, theirs = await _project(gateway, "mine-" + unique), await _project(gateway, "x" + unique)
    job_id = "job_" + unique * 4
    await publish(infra.bootstrap, SYNC_JOB_CHANGED, [_said(job_id, mine["project_id"], 1, 10)])
    await _poll(gateway, job_id, mine["secret_key"], lambda s, b: s == 200)
    resp = await gateway.get(f"/v1/syncs/{job_id}",
                             headers={"authorization": f"Bearer {theirs['secret_key']}"})
    assert (resp.status_code, resp.json()["error"]["code"]) == (404, "not_found")


async def test_a_copy_the_executor_said_too_long_ago_is_asked_of_the_executor(
    gateway, pg, unique, infra
):
    project = await _project(gateway, "old-" + unique)
    job_id = "job_" + unique * 4
    # Said 60 s ago: a consumer that far behind must not answer for the executor.
    await publish(infra.bootstrap, SYNC_JOB_CHANGED,
                  [_said(job_id, project["project_id"], 5, 50, ago=60)])
    for _ in range(400):
        if await pg.fetchval("SELECT version FROM gateway.sync_jobs WHERE id = $1", job_id):
            break
        await asyncio.sleep(0.05)
    resp = await gateway.get(f"/v1/syncs/{job_id}",
                             headers={"authorization": f"Bearer {project['secret_key']}"})
    assert (resp.status_code, resp.json()["error"]["code"]) == (503, "service_unavailable")

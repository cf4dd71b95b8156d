"""The scheduler against the real broker and Postgres: schedules follow connections, due rows fire
once.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
from ferry_contracts import ConnectionChanged, Envelope, ModelSyncConfig
from ferry_contracts.sync import SyncCompleted, SyncJob, SyncJobChanged
from ferry_contracts.topics import (
    CONNECTION_CHANGED,
    SYNC_COMPLETED,
    SYNC_JOB_CHANGED,
    SYNC_REQUESTED,
)
from ferry_kit.infra import free_port
from support.kafka import Collector, publish
from support.procs import ServiceProcess


def _changed(cid: str, status: str, version: int, previous: str | None = None, **kw) -> Envelope:
    config = kw.pop(
        "sync_config",
        [
            ModelSyncConfig(data_model="CONTACTS", frequency="HOURLY", access="READ"),
            ModelSyncConfig(data_model="INVOICES", frequency="DAILY", access="READ_WRITE"),
            ModelSyncConfig(data_model="FILES", frequency="DAILY", access="WRITE"),
        ],
    )
    return Envelope.of(
        ConnectionChanged(
            connection_id=cid,
            user_id="u1",
            provider_name="sandbox",
            status=status,
            previous_status=previous,
            sync_config=config,
            version=version,
            **kw,
        ),
        project_id="p-sched",
        connection_id=cid,
    )


async def _schedules(url: str, cid: str, token: str) -> list[dict]:
    async with httpx.AsyncClient(base_url=url, headers={"x-ferry-internal-token": token}) as c:
        return (await c.get(f"/internal/connections/{cid}/schedules")).json()["schedules"]


async def _sync_status(url: str, cid: str, token: str) -> dict[str, dict]:
    async with httpx.AsyncClient(base_url=url, headers={"x-ferry-internal-token": token}) as c:
        body = (await c.get(f"/internal/connections/{cid}/sync-status")).json()
    return {m["data_model"]: m for m in body["data_models"]}


def _job(cid: str, job_id: str, status: str, minute: int, error: str | None = None) -> Envelope:
    at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minute)
    job = SyncJob(
        id=job_id,
        connection_id=cid,
        data_model="CONTACTS",
        model_id="m",
        status=status,
        created_at=at,
        modified_at=at,
        error=error,
    )
    return Envelope.of(SyncJobChanged(job=job), project_id="p-sched", connection_id=cid)


async def _until(predicate, timeout: float = 20.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.2)


async def test_a_connection_gets_its_initial_sync_then_pauses_and_disappears_with_its_status(
    infra, service_env, unique
):
    from ferry_scheduler.bootstrap import start, stop
    from ferry_scheduler.settings import Settings

    port = free_port()
    service = await start(Settings(scheduler_port=port))
    url, token = f"http://127.0.0.1:{port}", service_env["FERRY_INTERNAL_TOKEN"]
    cid = f"con_s1_{unique}"
    try:
        async with Collector(
            infra.bootstrap, SYNC_REQUESTED, lambda e: e.connection_id == cid
        ) as requests:
            await publish(
                infra.bootstrap,
                CONNECTION_CHANGED,
                [
                    _changed(cid, "AUTH_REQUIRED", 1),
                    _changed(cid, "CONNECTED", 2, "CONNECTING"),
                ],
            )
            [initial] = await requests.wait(1)
            assert initial.data.trigger == "initial" and initial.data.is_initial_sync
            assert sorted(m.data_model for m in initial.data.models) == [
                "CONTACTS",
                "INVOICES",
            ]  # FILES is write-only
            rows = await _until(lambda: _schedules(url, cid, token))
            assert {r["data_model"]: r["paused"] for r in rows} == {
                "CONTACTS": False,
                "INVOICES": False,
            }
            assert {r["data_model"]: r["interval_minutes"] for r in rows} == {
                "CONTACTS": 60,
                "INVOICES": 1440,
            }

            # Config change: INVOICES disabled, CONTACTS every 15 minutes.
            narrowed = [
                ModelSyncConfig(
                    data_model="CONTACTS", frequency="CUSTOM", interval_minutes=15, access="READ"
                ),
                ModelSyncConfig(data_model="INVOICES", access="DISABLED"),
            ]
            await publish(
                infra.bootstrap,
                CONNECTION_CHANGED,
                [_changed(cid, "CONNECTED", 3, "CONNECTED", sync_config=narrowed)],
            )

            async def rebuilt():
                rows = await _schedules(url, cid, token)
                return (
                    rows
                    if [(r["data_model"], r["interval_minutes"]) for r in rows]
                    == [("CONTACTS", 15)]
                    else None
                )

            await _until(rebuilt)

            # A stale update (lower version) arriving late changes nothing.
            await publish(
                infra.bootstrap, CONNECTION_CHANGED, [_changed(cid, "DISCONNECTED", 1, "CONNECTED")]
            )
            await publish(
                infra.bootstrap,
                CONNECTION_CHANGED,
                [_changed(cid, "AUTH_ERROR", 4, "CONNECTED", sync_config=narrowed)],
            )

            async def paused():
                rows = await _schedules(url, cid, token)
                return rows and all(r["paused"] for r in rows)

            await _until(paused)

            # Re-authorized: a catch-up sync, not a second initial sync.
            await publish(
                infra.bootstrap,
                CONNECTION_CHANGED,
                [_changed(cid, "CONNECTED", 5, "AUTH_ERROR", sync_config=narrowed)],
            )
            await requests.wait(2)
            catch_up = requests.events[1].data
            assert catch_up.trigger == "schedule" and not catch_up.is_initial_sync
            assert [m.data_model for m in catch_up.models] == ["CONTACTS"]

            await publish(
                infra.bootstrap, CONNECTION_CHANGED, [_changed(cid, "DELETED", 6, "CONNECTED")]
            )

            async def gone():
                return await _schedules(url, cid, token) == []

            await _until(gone)
            assert len(requests.events) == 2
    finally:
        await stop(service)


async def test_the_sync_status_follows_jobs_and_outcomes_in_job_order(infra, service_env, unique):
    from ferry_scheduler.bootstrap import start, stop
    from ferry_scheduler.settings import Settings

    port = free_port()
    service = await start(Settings(scheduler_port=port))
    url, token = f"http://127.0.0.1:{port}", service_env["FERRY_INTERNAL_TOKEN"]
    cid = f"con_st_{unique}"

    async def status_is(expected: dict[str, str]):
        rows = await _sync_status(url, cid, token)
        return (rows or True) if {k: v["status"] for k, v in rows.items()} == expected else None

    try:
        assert await _sync_status(url, cid, token) == {}  # not known yet: nothing to say
        await publish(
            infra.bootstrap,
            CONNECTION_CHANGED,
            [
                _changed(
                    cid, "CONNECTED", 1, "CONNECTING", requested_data_types=["CONTACTS", "FILES"]
                )
            ],
        )
        await _until(lambda: status_is({"CONTACTS": "IDLE", "FILES": "DISABLED"}))
        await publish(infra.bootstrap, SYNC_JOB_CHANGED, [_job(cid, "job_1", "running", 1)])
        await _until(lambda: status_is({"CONTACTS": "SYNCING", "FILES": "DISABLED"}))
        failed = SyncCompleted(
            job_id="job_1",
            connection_id=cid,
            provider_name="sandbox",
            data_model="CONTACTS",
            status="failed",
            error="boom",
        )
        await publish(
            infra.bootstrap,
            SYNC_COMPLETED,
            [Envelope.of(failed, project_id="p-sched", connection_id=cid)],
        )
        await publish(
            infra.bootstrap,
            SYNC_JOB_CHANGED,
            [_job(cid, "job_1", "failed", 2, "boom"), _job(cid, "job_1", "running", 1)],
        )
        rows = await _until(lambda: status_is({"CONTACTS": "ERROR", "FILES": "DISABLED"}))
        assert rows["CONTACTS"]["last_error"] == "boom" and rows["CONTACTS"]["next_sync_at"]
        await publish(
            infra.bootstrap, CONNECTION_CHANGED, [_changed(cid, "DELETED", 2, "CONNECTED")]
        )
        await _until(lambda: status_is({}))
    finally:
        await stop(service)


async def test_two_scheduler_processes_never_fire_a_due_schedule_twice(
    infra, service_env, unique, pg
):
    n = 1000
    procs = []
    for _ in range(2):
        env = {
            **service_env,
            "FERRY_SCHEDULER_PORT": str(free_port()),
            "FERRY_SCHEDULER_BATCH_SIZE": "50",
            "FERRY_SCHEDULER_POLL_SECONDS": "0.05",
        }
        procs.append(ServiceProcess("ferry_scheduler", env).start())
    try:
        for p in procs:
            p.wait_http(f"http://127.0.0.1:{p.env['FERRY_SCHEDULER_PORT']}/healthz", timeout=60)
        prefix = f"con_due_{unique}_"
        async with Collector(
            infra.bootstrap, SYNC_REQUESTED, lambda e: (e.connection_id or "").startswith(prefix)
        ) as requests:
            conn = await asyncpg.connect(infra.dsn, server_settings={"search_path": "scheduler"})
            try:
                async with conn.transaction():
                    await conn.executemany(
                        "INSERT INTO connections "
                        "(connection_id, project_id, provider_name, status) "
                        "VALUES ($1,'p','sandbox','CONNECTED')",
                        [(f"{prefix}{i}",) for i in range(n)],
                    )
                    await conn.executemany(
                        "INSERT INTO schedules (connection_id, data_model, frequency, "
                        "interval_minutes, next_run_at, next_full_sync_at, paused, "
                        "initial_requested) "
                        "VALUES ($1, 'CONTACTS', 'DAILY', 1440, now() - interval '1 minute', "
                        "now() + interval '1 day', false, true)",
                        [(f"{prefix}{i}",) for i in range(n)],
                    )
            finally:
                await conn.close()
            await requests.wait(n, timeout=60)
            await asyncio.sleep(2.0)  # time for any double fire to show up
        fired = [(e.connection_id, m.data_model) for e in requests.events for m in e.data.models]
        assert len(fired) == n and len(set(fired)) == n
        assert all(p.proc.poll() is None for p in procs)
    finally:
        for p in procs:
            p.stop()

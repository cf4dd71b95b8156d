"""Crashes at the worst moments, with real processes, broker and Postgres: nothing lost, nothing
doubled.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from ferry_contracts import ConnectionChanged, Envelope
from ferry_contracts.topics import CONNECTION_CHANGED, dump

SCRIPT = Path(__file__).resolve().parents[2] / "support" / "crashy_consumer.py"


def _run(args, env, timeout=60):
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], env=env, capture_output=True, timeout=timeout
    )


def _start(args, env):
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


async def _effects(dsn, schema):
    conn = await asyncpg.connect(dsn)
    try:
        if not await conn.fetchval("SELECT to_regclass($1)", f"{schema}.effects"):
            return []
        return await conn.fetch(f"SELECT event_id, version FROM {schema}.effects")
    finally:
        await conn.close()


async def test_a_consumer_killed_after_its_effect_but_before_its_commit_has_no_second_effect(
    infra, service_env, unique
):
    import os

    schema = f"crashy_{unique}"
    group = f"crashy-{unique}"
    key = f"crash-{unique}"
    env = {**os.environ, **service_env, "FERRY_TEST_SCHEMA": schema, "FERRY_TEST_KEY": key}
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap)
    await producer.start()
    events = [
        Envelope.of(
            ConnectionChanged(
                connection_id=key, user_id="u", provider_name="p", status="CONNECTED", version=i
            ),
            connection_id=key,
        )
        for i in range(5)
    ]
    for e in events:
        await producer.send_and_wait(CONNECTION_CHANGED, dump(e), key=key.encode())
    await producer.stop()

    crashing = _start(["consume", group], {**env, "FERRY_TEST_CRASH_AFTER_EFFECT": "1"})
    assert crashing.wait(120) == 9, (
        crashing.stdout.read().decode()[-2000:] if crashing.stdout else ""
    )
    first = await _effects(infra.dsn, schema)
    assert len(first) >= 1  # the effect of the first batch is durable

    survivor = _start(["consume", group], env)
    try:
        deadline = time.monotonic() + 120
        rows = []
        while time.monotonic() < deadline:
            rows = await _effects(infra.dsn, schema)
            if {r["event_id"] for r in rows} >= {e.id for e in events}:
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)  # give a wrongly repeated effect time to show up
        rows = await _effects(infra.dsn, schema)
    finally:
        survivor.kill()
        survivor.wait()
    ids = [r["event_id"] for r in rows]
    assert sorted(map(str, ids)) == sorted(str(e.id) for e in events), (
        "each event has exactly one effect"
    )


async def test_an_outbox_event_survives_a_crash_before_publishing_and_is_published_after_restart(
    infra, service_env, unique
):
    import os

    schema = f"crashy_o_{unique}"
    env = {**os.environ, **service_env, "FERRY_TEST_SCHEMA": schema}
    key = f"outbox-{unique}"
    crashed = _run(["write-outbox", "4", key], env)
    assert crashed.returncode == 9, crashed.stdout.decode()[-2000:]
    conn = await asyncpg.connect(infra.dsn)
    try:
        # One connection's consecutive events: one row, a bundle of four.
        assert await conn.fetchval(f"SELECT sum(events) FROM {schema}.outbox") == 4
    finally:
        await conn.close()

    restarted = _run(["relay"], env)
    assert restarted.returncode == 0, restarted.stdout.decode()[-2000:]

    consumer = AIOKafkaConsumer(
        CONNECTION_CHANGED, bootstrap_servers=infra.bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    got = []
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and len(got) < 4:
            for recs in (await consumer.getmany(timeout_ms=300)).values():
                got += [r for r in recs if r.key == key.encode()]
    finally:
        await consumer.stop()
    versions = [Envelope[ConnectionChanged].model_validate_json(r.value).data.version for r in got]
    assert versions == [0, 1, 2, 3]

"""The kit's outbox, inbox and consumer against the real broker and Postgres."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer
from ferry_contracts import ConnectionChanged, Envelope
from ferry_contracts.topics import CONNECTION_CHANGED, dlq, dump
from ferry_kit import inbox, migrate, outbox
from ferry_kit.broker import Consumer, ensure_topics, make_broker
from ferry_kit.db import create_pool
from ferry_kit.settings import KitSettings

EMPTY = Path(__file__).parent / "no_migrations"


def _event(i: int, conn_id: str = "c1") -> Envelope:
    return Envelope.of(
        ConnectionChanged(
            connection_id=conn_id,
            user_id="u",
            provider_name="sandbox",
            status="CONNECTED",
            version=i,
        ),
        project_id="p",
        connection_id=conn_id,
    )


async def _read(
    bootstrap: str, topic: str, n: int, timeout: float = 15.0, key: bytes | None = None
) -> list:
    """Read `topic` from the start until `n` records (with `key`, if given) arrived or `timeout`
    passed.
    """
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    out: dict = {}  # by position: a fetch may hand back a record it already returned
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(out) < n and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for recs in batch.values():
                out.update(
                    {(r.partition, r.offset): r for r in recs if key is None or r.key == key}
                )
    finally:
        await consumer.stop()
    return [out[k] for k in sorted(out)]


@pytest.fixture
async def schema(infra, service_env, unique):
    name = f"kit_{unique}"
    await migrate.apply(infra.dsn, name, EMPTY)
    return name


async def test_migrations_apply_once_even_when_run_twice_at_once(infra, unique):
    name = f"kit_m_{unique}"
    first, second = await asyncio.gather(
        migrate.apply(infra.dsn, name, EMPTY), migrate.apply(infra.dsn, name, EMPTY)
    )
    assert sorted(first + second) == [
        "kit_0001_outbox_inbox", "kit_0002_outbox_dead", "kit_0003_outbox_bundles"]


async def test_outbox_row_survives_a_crash_and_is_published_by_the_next_relay(
    infra, schema, unique
):
    pool = await create_pool(infra.dsn, schema)
    topic_conn = f"c-{unique}"
    async with pool.acquire() as conn, conn.transaction():
        await outbox.add(conn, [_event(i, topic_conn) for i in range(3)])
    # No relay ran: the "crash" happened before publishing. Rows are durable (one bundle).
    assert await pool.fetchval("SELECT sum(events) FROM outbox") == 3
    await ensure_topics(infra.bootstrap, 4)
    producer = outbox.make_producer(infra.bootstrap)
    await producer.start()
    relay = outbox.OutboxRelay(infra.dsn, schema, producer)
    relay.start()
    try:
        for _ in range(100):
            if await pool.fetchval("SELECT count(*) FROM outbox") == 0:
                break
            await asyncio.sleep(0.1)
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 0
    finally:
        await relay.stop()
        await producer.stop()
        await pool.close()
    await _read(
        infra.bootstrap, CONNECTION_CHANGED, 3, timeout=30, key=topic_conn.encode()
    )  # wait for them
    mine = await _read(
        infra.bootstrap, CONNECTION_CHANGED, 4, timeout=3, key=topic_conn.encode()
    )  # and no more
    versions = [Envelope[ConnectionChanged].model_validate_json(r.value).data.version for r in mine]
    assert versions == [0, 1, 2]


async def test_a_large_outbox_write_uses_copy_and_keeps_order(infra, schema, unique):
    pool = await create_pool(infra.dsn, schema)
    try:
        # 200 connections' events, one each: 200 rows, past the COPY threshold.
        async with pool.acquire() as conn, conn.transaction():
            await outbox.add(conn, [_event(i, f"c{i}") for i in range(200)])
        rows = await pool.fetch("SELECT payload, headers FROM outbox ORDER BY id")
        assert [
            Envelope[ConnectionChanged].model_validate_json(r["payload"]).data.version for r in rows
        ] == list(range(200))
        assert isinstance(rows[0]["headers"], dict)
    finally:
        await pool.close()


async def test_consecutive_events_of_one_key_are_one_row_read_back_in_order(infra, schema):
    pool = await create_pool(infra.dsn, schema)
    events = [_event(i, "c1") for i in range(1500)]
    try:
        async with pool.acquire() as conn, conn.transaction():
            await outbox.add(conn, events)
        rows = await pool.fetch("SELECT event_id, payload, payloads, events FROM outbox "
                                "ORDER BY id")
        assert [(r["events"], r["payload"]) for r in rows] == [(1000, None), (500, None)]
        assert [r["event_id"] for r in rows] == [events[0].id, events[1000].id]
        assert [p for r in rows for p in r["payloads"]] == [dump(e) for e in events]
    finally:
        await pool.close()


class _Batch:
    def __init__(self) -> None:
        self.values: list[bytes] = []

    def append(self, *, key: bytes | None, value: bytes, timestamp: None, headers: list) -> bool:
        self.values.append(value)
        return True


class _Recorder:
    """A producer (of the batch calls the relay makes) that takes every batch at once and
    remembers its messages."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []

    async def partitions_for(self, topic: str) -> set[int]:
        return {0}

    def _partition(self, topic: str, *args: object) -> int:
        return 0

    def create_batch(self) -> _Batch:
        return _Batch()

    async def send_batch(self, batch: _Batch, topic: str, *, partition: int) -> asyncio.Future:
        self.sent.extend((topic, value) for value in batch.values)
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


async def test_a_backlog_on_one_topic_does_not_hold_up_another_topic(infra, schema):
    """A sync's change feed on one topic must not delay its completion on another; within a
    topic the rows still leave oldest first."""
    pool = await create_pool(infra.dsn, schema)
    try:
        rows = [("feed", f"f{i}".encode()) for i in range(5)] + [("done", b"d0")]
        await pool.executemany(
            "INSERT INTO outbox (event_id, topic, key, payload) "
            "VALUES (gen_random_uuid(), $1, 'k', $2)",
            rows,
        )
        producer = _Recorder()
        relay = outbox.OutboxRelay(infra.dsn, schema, producer, batch_size=2)  # type: ignore[arg-type]
        async with pool.acquire() as conn:
            await relay._publish_batch(conn)
            assert producer.sent == [("feed", b"f0"), ("feed", b"f1"), ("done", b"d0")]
            while await relay._publish_batch(conn):
                pass
        assert [v for t, v in producer.sent if t == "feed"] == [f"f{i}".encode() for i in range(5)]
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 0
    finally:
        await pool.close()


async def _drain(pool, relay: outbox.OutboxRelay) -> None:
    relay.start()
    try:
        for _ in range(300):
            if not await pool.fetchval("SELECT count(*) FROM outbox"):
                return
            await asyncio.sleep(0.05)
        raise AssertionError("the relay did not empty the outbox")
    finally:
        await relay.stop()


async def test_bundles_and_lone_rows_of_a_key_leave_in_order_each_event_its_own_message(
    infra, schema, unique
):
    key, other = f"ord-{unique}", f"ord2-{unique}"
    mine, theirs = [_event(i, key) for i in range(12)], [_event(i, other) for i in range(2)]
    pool = await create_pool(infra.dsn, schema)
    await ensure_topics(infra.bootstrap, 4)
    producer = outbox.make_producer(infra.bootstrap)
    await producer.start()
    try:
        for written in (mine[:3] + theirs[:1] + mine[3:4], mine[4:5], mine[5:11] + theirs[1:],
                        mine[11:]):
            async with pool.acquire() as conn, conn.transaction():
                await outbox.add(conn, written)
        layout = [(r["key"] == key, r["events"])
                  for r in await pool.fetch("SELECT key, events FROM outbox ORDER BY id")]
        assert layout == [(True, 3), (False, 1), (True, 1), (True, 1), (True, 6), (False, 1),
                          (True, 1)]
        # Four events a pass: passes end inside the run of rows, and a bundle goes whole.
        await _drain(pool, outbox.OutboxRelay(infra.dsn, schema, producer, batch_size=4,
                                              idle_wait=0.05))
    finally:
        await producer.stop()
        await pool.close()
    await _read(infra.bootstrap, CONNECTION_CHANGED, 12, timeout=30, key=key.encode())
    got = await _read(infra.bootstrap, CONNECTION_CHANGED, 13, timeout=3, key=key.encode())
    assert [r.value for r in got] == [dump(e) for e in mine]
    assert len(await _read(infra.bootstrap, CONNECTION_CHANGED, 2, timeout=30,
                           key=other.encode())) == 2


class _Crash(Exception):
    pass


class _CrashBeforeDelete:
    """The relay's connection, in a process that dies once its messages are acknowledged and
    before it deletes their rows."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def fetch(self, query: str, *args: object) -> list:
        return await self._conn.fetch(query, *args)

    async def execute(self, query: str, *args: object) -> str:
        if query.startswith("DELETE FROM outbox"):
            raise _Crash
        return await self._conn.execute(query, *args)


async def test_a_bundle_sent_before_a_crash_is_sent_again_and_the_inbox_keeps_one_of_each(
    infra, schema, unique
):
    key = f"replay-{unique}"
    events = [_event(i, key) for i in range(5)]
    pool = await create_pool(infra.dsn, schema)
    await ensure_topics(infra.bootstrap, 4)
    producer = outbox.make_producer(infra.bootstrap)
    await producer.start()
    relay = outbox.OutboxRelay(infra.dsn, schema, producer)
    try:
        async with pool.acquire() as conn:
            async with conn.transaction():
                await outbox.add(conn, events)
            with pytest.raises(_Crash):
                await relay._publish_batch(_CrashBeforeDelete(conn))  # type: ignore[arg-type]
            assert await conn.fetchval("SELECT sum(events) FROM outbox") == 5
            assert await relay._publish_batch(conn) == 5  # the next relay: the whole bundle
            assert await conn.fetchval("SELECT count(*) FROM outbox") == 0
        await _read(infra.bootstrap, CONNECTION_CHANGED, 10, timeout=30, key=key.encode())
        got = await _read(infra.bootstrap, CONNECTION_CHANGED, 11, timeout=3, key=key.encode())
        assert [r.value for r in got] == [dump(e) for e in events] * 2
        received = [Envelope[ConnectionChanged].model_validate_json(r.value) for r in got]
        async with pool.acquire() as conn, conn.transaction():
            kept = await inbox.claim(conn, CONNECTION_CHANGED, received)
        assert [e.id for e in kept] == [e.id for e in events]
    finally:
        await producer.stop()
        await pool.close()


async def test_inbox_claims_each_event_once_and_rolls_back_with_the_effect(infra, schema):
    pool = await create_pool(infra.dsn, schema)
    events = [_event(1), _event(2)]
    try:
        with pytest.raises(RuntimeError):
            async with pool.acquire() as conn, conn.transaction():
                assert len(await inbox.claim(conn, "t", events)) == 2
                raise RuntimeError("effect failed")
        async with pool.acquire() as conn, conn.transaction():
            assert [e.id for e in await inbox.claim(conn, "t", events + [events[0]])] == [
                e.id for e in events
            ]
        async with pool.acquire() as conn, conn.transaction():
            assert await inbox.claim(conn, "t", events) == []
    finally:
        await pool.close()


async def test_the_inbox_forgets_only_ids_older_than_its_retention(infra, schema):
    pool = await create_pool(infra.dsn, schema)
    old, recent = [_event(i) for i in range(25)], [_event(100 + i) for i in range(3)]
    try:
        async with pool.acquire() as conn:
            await inbox.claim(conn, "t", old)
            await conn.execute("UPDATE inbox SET processed_at = now() - interval '8 days'")
            await inbox.claim(conn, "t", recent)
            assert await inbox.prune(conn, older_than_hours=168, batch=10) == 25  # three batches
            left = {r["event_id"] for r in await conn.fetch("SELECT event_id FROM inbox")}
            assert left == {e.id for e in recent}
    finally:
        await pool.close()


async def test_consumer_sends_invalid_and_poison_messages_to_the_dlq_and_moves_on(
    infra, service_env, unique
):
    settings = KitSettings(handler_max_attempts=2)
    await ensure_topics(infra.bootstrap, 4)
    seen: list[int] = []
    poison_version = 666

    async def handle(events):
        for e in events:
            if e.data.version == poison_version:
                raise ValueError("cannot handle this one")
        seen.extend(e.data.version for e in events)

    broker = make_broker(settings, "kit-test")
    consumer = Consumer(
        broker, settings, f"kit-test-{unique}", {CONNECTION_CHANGED: handle}, max_records=50
    )
    consumer._retry_base = 0.01
    key = f"dlq-{unique}".encode()
    await broker.start()
    try:
        await broker.publish(b"{not json", topic=CONNECTION_CHANGED, key=key)
        await broker.publish(
            dump(_event(poison_version, key.decode())), topic=CONNECTION_CHANGED, key=key
        )
        await broker.publish(dump(_event(7, key.decode())), topic=CONNECTION_CHANGED, key=key)
        # A new group starts at the earliest offset: in a full run it first replays every other
        # test's connection.changed events, so give it time.
        for _ in range(600):
            if 7 in seen:
                break
            await asyncio.sleep(0.1)
    finally:
        await broker.stop()
    assert 7 in seen and poison_version not in seen
    await _read(infra.bootstrap, dlq(CONNECTION_CHANGED), 2, timeout=30, key=key)  # wait for them
    dead = await _read(
        infra.bootstrap, dlq(CONNECTION_CHANGED), 3, timeout=3, key=key
    )  # and no more
    assert len(dead) == 2
    headers = dict(dead[0].headers)
    assert headers["ferry-original-topic"] == CONNECTION_CHANGED.encode()
    assert b"invalid message" in headers["ferry-error"]
    assert b"cannot handle this one" in dict(dead[1].headers)["ferry-error"]


_ = asyncpg

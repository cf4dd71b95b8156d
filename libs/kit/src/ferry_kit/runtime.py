"""The common life of a Ferry service: pool, migrations, outbox relay, consumer, HTTP server.

A service's `app.py` builds its own dependencies on top of a `Runtime` and owns the order.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import uvicorn
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from faststream.kafka import KafkaBroker

from . import db, health, inbox, migrate, telemetry
from . import logging as klog
from .broker import Consumer, Handler, make_broker
from .httpserver import QuietServer
from .outbox import OutboxRelay, make_producer
from .settings import KitSettings
from .topicadmin import ensure_topics

KEEP_ALIVE_SECONDS = 75

log = klog.get("ferry.runtime")

Chore = Callable[[asyncpg.Connection], Awaitable[int]]
Started = TypeVar("Started")


class Runtime:
    def __init__(self, name: str, settings: KitSettings, migrations_dir: Path | None) -> None:
        self.name = name
        self.settings = settings
        self.migrations_dir = migrations_dir
        self.pool: Any = None
        self.broker: KafkaBroker | None = None
        self.consumer: Consumer | None = None
        self.relay: OutboxRelay | None = None
        self._producer: AIOKafkaProducer | None = None
        self._servers: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []
        self._housekeeping: asyncio.Task[None] | None = None
        self._chores: list[tuple[str, Chore]] = []
        self.tracer_provider = telemetry.configure(settings, name)

    async def open_database(self) -> None:
        if self.migrations_dir is not None:
            applied = await migrate.apply(
                self.settings.database_url, self.name, self.migrations_dir)
            if applied:
                log.info("migrations applied", service=self.name, versions=applied)
        self.pool = await db.create_pool(
            self.settings.database_url,
            self.name,
            min_size=self.settings.db_pool_min,
            max_size=self.settings.db_pool_max,
        )

    async def start_relay(self) -> None:
        await ensure_topics(self.settings.kafka_bootstrap, self.settings.topic_partitions)
        self._producer = make_producer(self.settings.kafka_bootstrap)
        await self._producer.start()
        self.relay = OutboxRelay(self.settings.database_url, self.name, self._producer)
        self.relay.start()

    @property
    def producer(self) -> AIOKafkaProducer:
        """The relay's producer (after `start_relay`), for events published without an outbox
        row."""
        return self._producer

    async def start_consumer(
        self, handlers: dict[str, Handler], max_records: int | None = None
    ) -> None:
        await ensure_topics(self.settings.kafka_bootstrap, self.settings.topic_partitions)
        self.broker = make_broker(self.settings, self.name, self.tracer_provider)
        self.consumer = Consumer(
            self.broker, self.settings, self.name, handlers, max_records=max_records)
        await self.broker.start()
        self.consumer.pace.start(self.consumer.subscriber.consumer)
        if self.pool is not None:
            retention = self.settings.inbox_retention_hours
            self._chores.insert(0, ("inbox", lambda conn: inbox.prune(conn, retention)))
            self._housekeeping = asyncio.create_task(
                self._housekeep(), name=f"housekeeping-{self.name}")

    def add_chore(self, name: str, chore: Chore) -> None:
        """A periodic clean-up (pruning old history): `chore(conn)` returns how many rows went.
        Register before `start_consumer`; chores run every `housekeeping_interval_seconds`."""
        self._chores.append((name, chore))

    async def _housekeep(self) -> None:
        while True:
            for name, chore in self._chores:
                try:
                    async with self.pool.acquire() as conn:
                        removed = await chore(conn)
                    if removed:
                        log.info("history pruned", service=self.name, what=name, rows=removed)
                # One failing chore must stop neither the others nor the loop.
                except Exception as exc:  # noqa: BLE001
                    log.warning("housekeeping failed", service=self.name, what=name,
                                error=repr(exc))
            await asyncio.sleep(self.settings.housekeeping_interval_seconds)

    async def health(self) -> dict[str, Any]:
        subscriber = self.consumer.subscriber if self.consumer is not None else None
        return await health.details(self.pool, subscriber, self.relay is not None)

    async def serve_http(self, app: FastAPI, host: str, port: int) -> None:
        # Read by `ferry status`: counts only, on the internal host like /healthz.
        app.add_api_route("/healthz/detail", self.health, methods=["GET"], include_in_schema=False)
        # Idle keep-alive outlasts the clients' (httpx: 5 s), so a client never reuses a
        # connection at the instant the server closes it ("Server disconnected").
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off",
                                timeout_keep_alive=KEEP_ALIVE_SECONDS)
        server = QuietServer(config)
        # Read by uvicorn before 0.29 only (later ones capture the signals while serving).
        server.install_signal_handlers = lambda: None  # type: ignore[attr-defined]
        task = asyncio.create_task(server.serve(), name=f"http-{self.name}")
        self._servers.append((server, task))
        for _ in range(200):
            if server.started:
                return
            if task.done():
                task.result()
                raise RuntimeError(f"{self.name} HTTP server stopped at start")
            await asyncio.sleep(0.02)
        raise RuntimeError(f"{self.name} HTTP server did not start on {host}:{port}")

    async def close(self) -> None:
        if self._housekeeping is not None:
            self._housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._housekeeping
        for server, task in self._servers:
            server.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 5)
        if self.consumer is not None:
            await self.consumer.pace.stop()
        if self.broker is not None:
            with contextlib.suppress(Exception):
                await self.broker.stop()
        if self.relay is not None:
            await self.relay.stop()
        if self._producer is not None:
            with contextlib.suppress(Exception):
                await self._producer.stop()
        if self.pool is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.pool.close(), 5)


def freeze_started() -> None:
    """Leave what a started service holds for good (imported modules, apps, pools: a few hundred
    thousand objects) out of the collector's full collections: each of those traversed them
    all, tens of milliseconds in which the service answers nothing (`ferry dev`'s workers
    freeze after their imports for the same reason)."""
    gc.collect()
    gc.freeze()


async def run_forever(
    start: Callable[[], Awaitable[Started]], stop: Callable[[Started], Awaitable[object]]
) -> None:
    """Run a service until SIGINT/SIGTERM, then stop it cleanly."""
    import signal

    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, done.set)
    handle = await start()
    freeze_started()
    try:
        await done.wait()
    finally:
        await stop(handle)


async def open_runtime(
    stack: contextlib.AsyncExitStack, name: str, settings: KitSettings, migrations_dir: Path,
    *, relay: bool = True,
) -> Runtime:
    """A service's runtime with its database migrated and (unless `relay=False`, for a service
    that emits no events) its outbox relay running, closed by `stack` (a bootstrap's exit
    stack), also when a later step of the start fails."""
    runtime = Runtime(name, settings, migrations_dir)
    stack.push_async_callback(runtime.close)
    await runtime.open_database()
    if relay:
        await runtime.start_relay()
    return runtime

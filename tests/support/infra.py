"""Bring up (or attach to) the broker and Postgres for tests and benchmarks.

`FERRY_TEST_BROKER=kafka` starts Apache Kafka (data on disk, restartable); the default `tansu`
starts the embedded broker, which is faster to start and lighter.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from dataclasses import dataclass, field
from typing import Any

from ferry_kit.infra import (
    EmbeddedBroker,
    KafkaBroker,
    LocalPostgres,
    create_database,
    ensure_postgres,
)

INTERNAL_TOKEN = "test-internal-token-" + secrets.token_hex(8)


@dataclass
class Infra:
    bootstrap: str
    dsn: str
    admin_dsn: str
    broker: EmbeddedBroker | KafkaBroker | None = None
    postgres: LocalPostgres | None = None
    containers: list[Any] = field(default_factory=list)
    drop_database: bool = False  # the database was made for this run: drop it at the end

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            "FERRY_KAFKA_BOOTSTRAP": self.bootstrap,
            "FERRY_DATABASE_URL": self.dsn,
            "FERRY_INTERNAL_TOKEN": INTERNAL_TOKEN,
            "FERRY_KAFKA_SESSION_TIMEOUT_MS": "2000",
            "FERRY_KAFKA_HEARTBEAT_INTERVAL_MS": "500",
            "FERRY_TOPIC_PARTITIONS": "4",
            "FERRY_LOG_LEVEL": "WARNING",
        }
        env.update(extra)
        return env

    def isolated(self) -> Infra:
        """A broker and a database of its own, for a whole platform of service processes.

        Ferry's consumer groups and schemas are named after the services, so two platforms on one
        broker and database would share them (as replicas do) and split each other's events.
        """
        broker = start_broker() if self.broker else None
        dsn = asyncio.run(
            create_database(self.admin_dsn, f"ferry_test_{os.getpid()}_{secrets.token_hex(3)}")
        )
        return Infra(
            broker.bootstrap if broker else self.bootstrap,
            dsn,
            self.admin_dsn,
            broker=broker,
            drop_database=True,
        )

    def stop(self) -> None:
        if self.drop_database:
            try:
                asyncio.run(_drop(self.admin_dsn, self.dsn.rpartition("/")[2]))
            except Exception as exc:  # noqa: BLE001 - a leftover database must not fail the run
                print(f"could not drop the test database: {exc}")
        if self.broker:
            self.broker.stop()
        if self.postgres:
            self.postgres.stop()
        for c in self.containers:
            c.stop()


def _containers() -> Infra:
    from testcontainers.kafka import KafkaContainer  # type: ignore[import-not-found]
    from testcontainers.postgres import PostgresContainer  # type: ignore[import-not-found]

    kafka = KafkaContainer().with_kraft().start()
    pg = PostgresContainer("postgres:16", driver=None).start()
    dsn = pg.get_connection_url()
    return Infra(kafka.get_bootstrap_server(), dsn, dsn, containers=[kafka, pg])


def start_broker() -> EmbeddedBroker | KafkaBroker:
    kind = os.environ.get("FERRY_TEST_BROKER", "tansu")
    if kind not in ("tansu", "kafka"):
        raise ValueError(f"FERRY_TEST_BROKER must be tansu or kafka, not {kind!r}")
    return KafkaBroker().start() if kind == "kafka" else EmbeddedBroker().start()


def start_infra(db_name: str | None = None) -> Infra:
    if os.environ.get("FERRY_TEST_INFRA") == "containers":
        return _containers()
    broker = None
    bootstrap = os.environ.get("FERRY_TEST_KAFKA_BOOTSTRAP") or os.environ.get(
        "FERRY_KAFKA_BOOTSTRAP"
    )
    if not bootstrap:
        broker = start_broker()
        bootstrap = broker.bootstrap
    admin_dsn, local = asyncio.run(
        ensure_postgres(
            os.environ.get("FERRY_TEST_DATABASE_URL") or os.environ.get("FERRY_DATABASE_URL")
        )
    )
    name = db_name or f"ferry_test_{os.getpid()}_{secrets.token_hex(3)}"
    dsn = asyncio.run(create_database(admin_dsn, name))
    return Infra(bootstrap, dsn, admin_dsn, broker=broker, postgres=local, drop_database=True)


async def _drop(admin_dsn: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()

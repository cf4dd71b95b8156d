"""Bring up the infrastructure Ferry needs on one machine: a Kafka-compatible broker and Postgres.

The broker is Tansu (memory only, starts in a blink) or Apache Kafka (the jars fetched with
Maven, data on disk). Used by `ferry dev`, the test session and the benchmarks. Production points
Ferry at real Kafka and Postgres through settings and never calls this package.
"""

from .kafka import KAFKA_VERSION, KafkaBroker, kafka_jars
from .postgres import (
    DEFAULT_LOCAL_DSN,
    LocalPostgres,
    create_database,
    ensure_postgres,
    start_local_postgres,
)
from .process import InfraError, free_port
from .tansu import EmbeddedBroker

__all__ = [
    "DEFAULT_LOCAL_DSN",
    "KAFKA_VERSION",
    "EmbeddedBroker",
    "InfraError",
    "KafkaBroker",
    "LocalPostgres",
    "create_database",
    "ensure_postgres",
    "free_port",
    "kafka_jars",
    "start_local_postgres",
]

"""Settings shared by every Ferry service; each service subclasses `KitSettings`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class KitSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FERRY_", extra="ignore")

    kafka_bootstrap: str = "127.0.0.1:9092"
    database_url: str = "postgresql://postgres@127.0.0.1:5432/ferry"
    topic_partitions: int = Field(8, ge=1)
    # Short sessions make joins and failover take seconds instead of tens of seconds.
    kafka_session_timeout_ms: int = 10_000
    kafka_heartbeat_interval_ms: int = 3_000
    # How long a fetch may wait at the broker for new data. Tansu holds an idle fetch for the
    # whole wait even when data arrives meanwhile (p50 event latency 132 ms at 500, 14 ms at 50).
    kafka_fetch_max_wait_ms: int = Field(50, ge=1, le=10_000)
    # The wait once a consumer has seen no records for `kafka_idle_after_seconds` (see
    # fetchpace.py); the same as the busy wait by default, longer in `ferry dev`.
    kafka_idle_fetch_max_wait_ms: int = Field(50, ge=1, le=10_000)
    # The idle wait doubles for every further `kafka_idle_after_seconds` of quiet up to this.
    kafka_max_idle_fetch_max_wait_ms: int = Field(50, ge=1, le=10_000)
    kafka_idle_after_seconds: float = Field(5.0, gt=0)
    consumer_max_records: int = 500
    # Processed event ids are kept this long (Kafka's default retention is 168 h: a message
    # older than that can no longer be redelivered).
    inbox_retention_hours: float = Field(168.0, gt=0)
    # Finished sync jobs, their counts and delivered or failed webhook messages are kept this long.
    history_retention_days: float = Field(30.0, gt=0)
    # How often each service prunes what is past its retention.
    housekeeping_interval_seconds: float = Field(3600.0, gt=0)
    handler_max_attempts: int = 5
    db_pool_min: int = 1
    db_pool_max: int = 10
    log_level: str = "INFO"
    # uvloop: the loop and its sockets in C. A status poll through the gateway and the executor
    # costs each ~30% less CPU, and every hop between services (a process wake-up on these
    # 2-core machines) returns sooner; "asyncio" is the standard loop, for debugging.
    event_loop: Literal["uvloop", "asyncio"] = "uvloop"
    log_format: Literal["json", "console"] = "console"
    telemetry: Literal["off", "console", "otlp"] = "off"
    otlp_endpoint: str | None = None
    # Services call each other's internal HTTP APIs with this shared token; no default.
    internal_token: str = Field(min_length=16, repr=False)
    internal_host: str = "127.0.0.1"
    gateway_port: int = 8080
    connections_port: int = 8081
    scheduler_port: int = 8082
    executor_port: int = 8083
    records_port: int = 8084
    webhooks_port: int = 8085
    sandbox_port: int = 8090
    connections_url: str = "http://127.0.0.1:8081"
    executor_url: str = "http://127.0.0.1:8083"
    records_url: str = "http://127.0.0.1:8084"
    webhooks_url: str = "http://127.0.0.1:8085"
    scheduler_url: str = "http://127.0.0.1:8082"
    # Where providers are reached; the sandbox provider by default.
    sandbox_url: str = "http://127.0.0.1:8090"

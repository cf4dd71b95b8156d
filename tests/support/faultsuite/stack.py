"""A Ferry of its own for the fault suite: its own Postgres cluster (restartable), Apache Kafka
(data on disk, restartable), every service its own process, and webhook endpoints as processes."""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path

import httpx
from ferry_kit.infra import KafkaBroker, create_database, free_port, start_local_postgres

from ..infra import Infra
from ..platforms import ProcessPlatform
from ..procs import ServiceProcess

# Retries every few seconds for minutes: longer than any fault the suite injects.
RETRIES = [1, 2, 4] + [8] * 60
PLATFORM_ENV = {
    "FERRY_EXECUTOR_LEASE_SECONDS": "3",
    "FERRY_WEBHOOKS_RETRY_SCHEDULE_SECONDS": json.dumps(RETRIES),
    "FERRY_WEBHOOKS_TIMEOUT_SECONDS": "5",
    "FERRY_WEBHOOKS_LEASE_SECONDS": "6",
}


class FaultStack:
    """Start with `start()`, end with `stop()`; `platform.procs[name]` are the services."""

    def __init__(self, **extra_env: str) -> None:
        self.postgres = start_local_postgres()
        try:
            self.broker = KafkaBroker().start()
        except BaseException:
            self.postgres.stop()
            raise
        dsn = asyncio.run(create_database(self.postgres.dsn, "ferry_faults"))
        self.infra = Infra(self.broker.bootstrap, dsn, self.postgres.dsn,
                           broker=self.broker, postgres=self.postgres)
        self.platform = ProcessPlatform(self.infra, **{**PLATFORM_ENV, **extra_env})
        self.hooks: list[Hook] = []

    def start(self) -> FaultStack:
        self.platform.start()
        return self

    def add_hook(self) -> Hook:
        hook = Hook().start()
        self.hooks.append(hook)
        return hook

    def stop(self) -> None:
        for hook in self.hooks:
            hook.proc.stop()  # its log stays, for a look after a failed run
        self.platform.stop()
        self.infra.stop()


HOOKD = Path(__file__).with_name("hookd.py")


class Hook:
    """A webhook endpoint process: accepted deliveries are JSON lines in `log_path`."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(tempfile.mkstemp(prefix="ferry-hook-", suffix=".jsonl")[1])
        self.proc = ServiceProcess("hookd", {}, [str(self.port), str(self.log_path)], script=HOOKD)

    def start(self) -> Hook:
        self.proc.start().wait_http(f"{self.url}/_stats", timeout=30)
        return self

    async def down(self, seconds: float) -> None:
        async with httpx.AsyncClient(timeout=10) as http:
            (await http.post(f"{self.url}/_down", params={"seconds": seconds})).raise_for_status()

    async def stats(self) -> dict[str, int]:
        async with httpx.AsyncClient(timeout=10) as http:
            return (await http.get(f"{self.url}/_stats")).json()

    def deliveries(self) -> list[dict]:
        return [json.loads(line) for line in self.log_path.read_text().splitlines() if line]

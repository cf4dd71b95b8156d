"""The faults: each injected `repeats` times at a random point ≥ 20% into the work, each timed
from its start until the platform makes progress again."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg

from .stack import Hook
from .work import Work, retrying

KILLED = ("executor", "records", "webhooks", "connections", "scheduler", "gateway")
KINDS = (*(f"kill {s}" for s in KILLED), "kill relay mid-batch", "postgres restart",
         "broker restart", "provider 500/429", "endpoint down")


RELAYS = ("records", "executor", "connections", "scheduler")  # the services with an outbox
OUTBOXES = " UNION ALL ".join(
    f"SELECT '{s}' AS schema, coalesce(sum(events), 0) AS n FROM {s}.outbox" for s in RELAYS
) + " ORDER BY n DESC"


@dataclass
class Injected:
    kind: str
    at_progress: float
    at_seconds: float
    detail: str = ""
    lasted_seconds: float = 0.0  # the fault itself: down, restarting, answering errors
    recovered_seconds: float | None = None  # from its start until progress again


    def line(self) -> str:
        return (f"{self.kind:22} at {self.at_progress:4.0%} ({self.at_seconds:4.0f} s): lasted "
                f"{self.lasted_seconds:5.1f} s, recovered {self.recovered_seconds or 0:5.1f} s "
                f"after its start; {self.detail}")


def plan(rng: random.Random, repeats: int, only: tuple[str, ...] = ()) -> list[tuple[float, str]]:
    """(progress point, fault) pairs, in the order they fire."""
    unknown = set(only) - set(KINDS)
    assert not unknown, f"no such faults: {unknown}; the faults: {KINDS}"
    kinds = [k for k in only or KINDS for _ in range(repeats)]
    rng.shuffle(kinds)
    points = sorted(rng.uniform(0.2, 0.9) for _ in kinds)
    return list(zip(points, kinds, strict=True))


class Injector:
    def __init__(self, work: Work, rng: random.Random) -> None:
        self.work, self.rng = work, rng
        self.stack = work.stack
        self.log: list[Injected] = []
        self._provider_faults = 0
        self._watch: Hook | None = None  # the endpoint whose recovery counts, when one was down

    async def run(self, schedule: list[tuple[float, str]]) -> None:
        for point, kind in schedule:
            while not self.work.done.is_set() and await self.work.progress() < point:
                await asyncio.sleep(0.5)
            progress = await self.work.progress()
            started = time.monotonic()
            entry = Injected(kind, progress, started - self.work.started)
            self.log.append(entry)
            self._watch = None
            entry.detail = await self.inject(kind)
            entry.lasted_seconds = time.monotonic() - started
            entry.recovered_seconds = await self.recovered(started)
            print(f"fault {len(self.log)}: {entry.line()}", flush=True)

    async def inject(self, kind: str) -> str:
        actions: dict[str, Callable[[], Awaitable[str]]] = {
            "kill relay mid-batch": self.kill_relay, "postgres restart": self.restart_postgres,
            "broker restart": self.restart_broker, "provider 500/429": self.provider_fault,
            "endpoint down": self.endpoint_down,
        }
        if kind.startswith("kill ") and kind[5:] in KILLED:
            return await self.kill(kind[5:])
        return await actions[kind]()

    async def kill(self, name: str, detail: str = "") -> str:
        self.stack.platform.procs[name].kill()
        await asyncio.to_thread(self.stack.platform.restart, name)
        return detail or "SIGKILL, restarted"

    async def kill_relay(self) -> str:
        """The outbox relay is a task inside each service: SIGKILL the service at an instant its
        outbox holds rows (its relay is mid-batch), preferring the one with the most. A full sync
        of one connection is requested first, so that the outboxes fill (pages, changes)."""
        assert self.work.api is not None
        await retrying(self.work.api.sync, self.rng.choice(self.work.connections)["id"],
                       full_sync=True)
        conn = await asyncpg.connect(self.stack.infra.dsn)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                rows = await conn.fetch(OUTBOXES)
                if rows and rows[0]["n"]:
                    name, n = rows[0]["schema"], rows[0]["n"]
                    return await self.kill(name, f"SIGKILL {name} with {n} outbox events unsent")
                await asyncio.sleep(0.01)
        finally:
            await conn.close()
        return await self.kill("records", "SIGKILL records (every outbox stayed empty for 60 s)")

    async def restart_postgres(self) -> str:
        await asyncio.to_thread(self.stack.postgres.restart)
        return "pg_ctl restart -m fast"

    async def restart_broker(self) -> str:
        await asyncio.to_thread(self.stack.broker.restart, True)
        return "SIGKILL of Kafka, started again on its data"

    async def provider_fault(self) -> str:
        self._provider_faults += 1
        seconds = self.work.sizes.provider_fault_seconds
        fault = ({"error_rate": 1.0} if self._provider_faults % 2
                 else {"rate_limit_per_second": 0.2})
        assert self.work.api is not None
        await self.work.api.faults(**fault)
        await asyncio.sleep(seconds)
        await self.work.api.faults()
        return f"{'500' if 'error_rate' in fault else '429'} for {seconds:g} s"

    async def endpoint_down(self) -> str:
        hook = self._watch = self.rng.choice(self.stack.hooks)
        seconds = self.work.sizes.endpoint_down_seconds
        await hook.down(seconds)
        await asyncio.sleep(seconds)
        return f"{hook.url} answered 503 for {seconds:g} s"

    async def recovered(self, started: float, timeout: float = 600) -> float:
        """Seconds from the fault's start until webhooks flow again once it is over (to the
        endpoint that was down, if one was), or until the work is done."""
        before = await self._delivered()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.work.done.is_set() or await self._delivered() > before:
                return time.monotonic() - started
            await asyncio.sleep(0.2)
        raise AssertionError(f"no progress {timeout:g} s after the fault")

    async def _delivered(self) -> int:
        if self._watch is None:
            return await self.work.delivered()
        return (await self._watch.stats())["distinct"]

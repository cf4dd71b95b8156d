"""The scenario's work: connections syncing, changes landing at the provider, a full sync."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import asyncpg
import httpx

from ..e2e import Api
from .sizes import Sizes
from .stack import FaultStack

RECORD_EVENTS = ["record_created", "record_updated", "record_deleted"]
TERMINAL = ("complete", "failed", "cancelled")


async def retrying(call: Any, *args: Any, attempts: int = 60, **kwargs: Any) -> Any:
    """Calls through the gateway while a fault may have it (or a service behind it) down."""
    for left in range(attempts, 0, -1):
        try:
            return await call(*args, **kwargs)
        except (httpx.HTTPError, AssertionError):
            if left == 1:
                raise
            await asyncio.sleep(1)


class Work:
    def __init__(self, stack: FaultStack, sizes: Sizes, rng: random.Random) -> None:
        self.stack, self.sizes, self.rng = stack, sizes, rng
        self.platform = stack.platform
        self.api: Api | None = None
        self.connections: list[dict[str, Any]] = []
        self.expected_events = sizes.records * sizes.connections * sizes.endpoints
        self.done = asyncio.Event()
        self.started = time.monotonic()

    async def setup(self) -> None:
        project = await asyncio.to_thread(self.platform.create_project)
        self.api = api = Api(self.platform, project)
        resp = await api.http.put(
            "/v1/sync-config",
            json={
                "data_models": [{"data_model": "contacts", "frequency": "DAILY", "access": "READ"}],
                "record_events_on_initial_sync": True,
            },
        )
        assert resp.status_code == 200, resp.text
        for _ in range(self.sizes.endpoints):
            hook = await asyncio.to_thread(self.stack.add_hook)
            resp = await api.http.post(
                "/v1/webhook-endpoints",
                json={"url": f"{hook.url}/webhooks", "event_types": RECORD_EVENTS},
            )
            assert resp.status_code == 201, resp.text
        for i in range(self.sizes.connections):
            await api.seed(f"acct-{i}", "contacts", self.sizes.records)

    async def run(self) -> None:
        api = self.api
        assert api is not None
        for i in range(self.sizes.connections):
            self.connections.append(await api.connect(["contacts"], account=f"acct-{i}"))
        await self.changes()
        await self.wait_jobs_terminal()
        for conn in self.connections:
            await retrying(api.sync, conn["id"], full_sync=True)
        await self.wait_jobs_terminal()
        await self.wait_delivered()
        self.done.set()

    async def changes(self) -> None:
        """Creates, updates and deletes at the provider while the syncs run, each round
        followed by a requested incremental sync."""
        api, n = self.api, self.sizes.changes_per_round
        assert api is not None
        for _ in range(self.sizes.change_rounds):
            await asyncio.sleep(self.rng.uniform(2, 8))
            for conn in self.connections:
                body = {"model": "contacts", "create": n, "update": n, "delete": n // 5}
                resp = await api.sandbox.post(
                    f"/_admin/accounts/{conn['account']}/mutate", json=body
                )
                assert resp.status_code == 200, resp.text
                self.expected_events += (2 * n + n // 5) * self.sizes.endpoints
                await retrying(api.sync, conn["id"])

    async def query(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        for left in range(120, 0, -1):
            try:
                conn = await asyncpg.connect(self.stack.infra.dsn, timeout=5)
                try:
                    return await conn.fetch(sql, *args)
                finally:
                    await conn.close()
            except (OSError, asyncpg.PostgresError, TimeoutError):
                if left == 1:
                    raise
                await asyncio.sleep(1)
        raise AssertionError("unreachable")

    async def wait_jobs_terminal(self, timeout: float = 1800) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = await self.query(
                "SELECT count(*) AS n FROM executor.jobs WHERE status <> ALL($1::text[])",
                list(TERMINAL),
            )
            if rows[0]["n"] == 0:
                return
            await asyncio.sleep(1)
        raise AssertionError("sync jobs still not finished")

    async def wait_delivered(self, stall: float = 600, cap: float = 5400) -> None:
        """Every webhook message delivered (or failed for good), and the endpoints quiet.

        Fails when nothing moves for `stall` seconds (a stuck lane), not on a slow machine that
        is still delivering; `cap` bounds the whole wait."""
        start = time.monotonic()
        moved, last, quiet = start, None, 0
        while time.monotonic() - start < cap and time.monotonic() - moved < stall:
            rows = await self.query(
                "SELECT count(*) AS n FROM webhooks.messages "
                "WHERE status IN ('pending', 'retrying')"
            )
            now = (rows[0]["n"], await self.delivered())
            quiet = quiet + 1 if now[0] == 0 and now == last else 0
            if quiet >= 3:
                return
            if now != last:
                moved, last = time.monotonic(), now
            await asyncio.sleep(1)
        print(await self.undelivered_report(), flush=True)
        raise AssertionError(f"webhook messages still undelivered (pending, delivered) = {last}")

    async def undelivered_report(self) -> str:
        rows = await self.query(
            "SELECT endpoint_id, status, ready, count(*) AS n, max(tries) AS tries, "
            "min(next_attempt_at) AS next_at, max(last_error) AS error, "
            "count(DISTINCT lane) AS lanes FROM webhooks.messages "
            "WHERE status IN ('pending', 'retrying') GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
        )
        return "undelivered:\n" + "\n".join(f"  {dict(r)}" for r in rows)

    async def delivered(self) -> int:
        total = 0
        for hook in self.stack.hooks:
            try:
                total += (await hook.stats())["distinct"]
            except httpx.HTTPError:
                pass
        return total

    async def stored(self) -> int:
        """Records Ferry holds, deleted ones included."""
        return int((await self.query("SELECT count(*) AS n FROM records.records"))[0]["n"])

    async def progress(self) -> float:
        """The work done: the mean of the records stored and the webhooks delivered, each as a
        share of what the scenario will make."""
        records = self.sizes.records * self.sizes.connections
        stored = min(1.0, await self.stored() / records)
        delivered = min(1.0, await self.delivered() / max(1, self.expected_events))
        return (stored + delivered) / 2

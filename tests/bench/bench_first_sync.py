"""Benchmark: the first sync of N sandbox records end to end (services as separate processes).

Prints records/s from the end user's consent to the `sync_completed` webhook, the peak resident
memory of each Ferry process and the CPU time of each (and of Postgres) during the sync. Run:
`uv run python tests/bench/bench_first_sync.py [N]`.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
import time
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from procstats import PeakRss  # noqa: E402
from procstats import cpu_seconds as _cpu
from support.infra import start_infra  # noqa: E402
from support.platforms import ProcessPlatform  # noqa: E402

from ferry_cli.formbrowser import FormBrowser  # noqa: E402
from ferry_cli.receiver import WebhookReceiver  # noqa: E402


async def bench(infra, n: int) -> None:
    # The request budget per connection (FERRY_PROVIDER_REQUESTS_PER_SECOND, 20 by default) is
    # politeness towards real providers; left at 20 it would be what this measures. Set it in
    # the environment to measure a sync under a given budget.
    import os

    rps = os.environ.get("FERRY_PROVIDER_REQUESTS_PER_SECOND", "10000")
    print(f"provider request budget: {rps} requests/s per connection")
    platform = ProcessPlatform(
        infra, FERRY_PROVIDER_REQUESTS_PER_SECOND=rps, FERRY_PROVIDER_BURST="20"
    ).start()
    receiver = await WebhookReceiver().start()
    try:
        project = platform.create_project()
        api = httpx.AsyncClient(
            base_url=platform.gateway_url,
            headers={"authorization": f"Bearer {project['secret_key']}"},
            timeout=60,
        )
        sandbox = httpx.AsyncClient(
            base_url=platform.sandbox_url,
            headers={"authorization": f"Bearer {platform.sandbox_admin_token}"},
            timeout=60,
        )
        receiver.secret = (
            await api.post("/v1/webhook-endpoints", json={"url": f"{receiver.url}/webhooks"})
        ).json()["secret"]
        account = "bench-" + secrets.token_hex(3)
        (
            await sandbox.post(
                f"/_admin/accounts/{account}/seed", json={"model": "contacts", "count": n}
            )
        ).raise_for_status()
        conn = (
            await api.post(
                "/v1/users/bench/connections",
                json={
                    "provider_name": "sandbox",
                    "requested_data_types": ["CONTACTS"],
                    "return_url": f"{receiver.url}/done",
                },
            )
        ).json()
        pids = {name: proc.proc.pid for name, proc in platform.procs.items() if proc.proc}
        sampler = PeakRss(pids)
        sampler.start()
        browser = FormBrowser(stop_prefix=receiver.url)
        await browser.open(conn["redirect_url"])
        await browser.click("connect")
        postgres = [
            p
            for p in psutil.process_iter(["name"])
            if (p.info["name"] or "").startswith("postgres")
        ]
        cpu_before, pg_before = sampler.cpu(), sum(_cpu(p) for p in postgres)
        started = time.monotonic()
        await browser.click("approve", account=account)
        await browser.close()
        hook = (await receiver.wait_for("sync_completed", data_model="CONTACTS", timeout=1800))[0]
        elapsed = hook.at - started
        sampler.running = False
        cpu = {k: v - cpu_before[k] for k, v in sampler.cpu().items()}
        cpu["postgres"] = sum(_cpu(p) for p in postgres) - pg_before
        print(
            f"first sync of {n:,} records end to end: {elapsed:.2f} s, {n / elapsed:,.0f} records/s"
        )
        print(f"counts: {hook.data['counts']}")
        print(
            "peak RSS per process (MiB): "
            + ", ".join(f"{k} {v / 2**20:.0f}" for k, v in sampler.peak.items())
        )
        print("CPU seconds per process: " + ", ".join(f"{k} {v:.2f}" for k, v in cpu.items()))
        print(
            "peak RSS, all Ferry services: "
            f"{sum(v for k, v in sampler.peak.items() if k != 'sandbox') / 2**20:.0f} MiB"
        )
        await api.aclose()
        await sandbox.aclose()
    finally:
        await receiver.stop()
        platform.stop()


if __name__ == "__main__":
    infra = start_infra()  # synchronous: it runs its own event loop to prepare Postgres
    try:
        asyncio.run(bench(infra, int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))
    finally:
        infra.stop()

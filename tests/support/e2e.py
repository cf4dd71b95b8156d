"""Steps shared by the end-to-end tests: an API client, connecting an end user, waiting for jobs."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import httpx

from ferry_cli.formbrowser import FormBrowser


async def click_through(url: str, stop_prefix: str, *clicks: tuple[str, dict[str, str]]) -> str:
    """Open a connect page and press its buttons in turn (with form fields); the URL it ends on."""
    browser = FormBrowser(stop_prefix=stop_prefix)
    try:
        await browser.open(url)
        for button, fields in clicks:
            await browser.click(button, **fields)
    finally:
        await browser.close()
    return browser.url


class Api:
    def __init__(self, platform: Any, project: dict[str, str]) -> None:
        self.platform = platform
        self.http = httpx.AsyncClient(
            base_url=platform.gateway_url,
            timeout=30,
            headers={"authorization": f"Bearer {project['secret_key']}"},
        )
        self.sandbox = httpx.AsyncClient(
            base_url=platform.sandbox_url,
            timeout=30,
            headers={"authorization": f"Bearer {platform.sandbox_admin_token}"},
        )

    async def close(self) -> None:
        await self.http.aclose()
        await self.sandbox.aclose()

    async def seed(self, account: str, model: str, count: int) -> None:
        resp = await self.sandbox.post(
            f"/_admin/accounts/{account}/seed", json={"model": model, "count": count}
        )
        assert resp.status_code == 200, resp.text

    async def faults(self, **faults: float) -> None:
        body = {"rate_limit_per_second": 0, "error_rate": 0, "latency_ms": 0, **faults}
        assert (await self.sandbox.put("/_admin/faults", json=body)).status_code == 200

    async def requests_made(self) -> int:
        return (await self.sandbox.get("/_admin/stats")).json()["requests"]

    async def connect(
        self,
        models: list[str],
        *,
        account: str | None = None,
        user: str = "u-1",
        return_url: str = "http://127.0.0.1:9/done",
        **extra: Any,
    ) -> dict[str, Any]:
        """Create a sandbox connection and click through the connect and consent pages."""
        account = account or "acct-" + secrets.token_hex(4)
        created = await self.http.post(
            f"/v1/users/{user}/connections",
            json={
                "provider_name": "sandbox",
                "requested_data_types": models,
                "return_url": return_url,
                **extra,
            },
        )
        assert created.status_code == 201, created.text
        conn = created.json()
        landed = await click_through(
            conn["redirect_url"], return_url, ("connect", {}), ("approve", {"account": account})
        )
        assert "status=success" in landed, landed
        return {**conn, "account": account}

    async def sync(
        self,
        connection_id: str,
        models: list[dict[str, Any]] | None = None,
        full_sync: bool = False,
    ) -> list[dict]:
        body: dict[str, Any] = {"full_sync": full_sync}
        if models is not None:
            body["data_models_to_sync"] = models
        resp = await self.http.post(f"/v1/connections/{connection_id}/sync", json=body)
        assert resp.status_code == 202, resp.text
        return resp.json()

    async def job(self, job_id: str) -> dict[str, Any]:
        resp = await self.http.get(f"/v1/syncs/{job_id}")
        assert resp.status_code == 200, resp.text
        return resp.json()

    async def wait_job(
        self,
        job_id: str,
        statuses: tuple[str, ...] = ("complete", "failed", "cancelled"),
        timeout: float = 90.0,
    ) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            job = await self.job(job_id)
            if job["status"] in statuses:
                return job
            assert asyncio.get_running_loop().time() < deadline, f"job still {job['status']}: {job}"
            await asyncio.sleep(0.2)

    async def jobs(self, connection_id: str, **params: Any) -> list[dict[str, Any]]:
        resp = await self.http.get(f"/v1/connections/{connection_id}/syncs", params=params)
        assert resp.status_code == 200, resp.text
        return resp.json()["data"]

    async def wait_jobs(
        self, connection_id: str, n: int, timeout: float = 90.0, **params: Any
    ) -> list[dict[str, Any]]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            jobs = [
                j for j in await self.jobs(connection_id, **params) if j["status"] == "complete"
            ]
            if len(jobs) >= n:
                return jobs
            assert asyncio.get_running_loop().time() < deadline, f"{len(jobs)} of {n} complete jobs"
            await asyncio.sleep(0.2)

    async def records(
        self, connection_id: str, model: str, cursor: str | None = None
    ) -> tuple[list[dict], str]:
        out: list[dict] = []
        while True:
            params = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
            resp = await self.http.get(
                f"/v1/connections/{connection_id}/records/{model}", params=params
            )
            assert resp.status_code == 200, resp.text
            page = resp.json()
            out += page["records"]
            cursor = page["next_cursor"]
            if not page["has_more"]:
                return out, cursor

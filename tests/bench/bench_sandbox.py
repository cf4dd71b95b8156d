"""Benchmark: the sandbox provider alone, as a separate process (uvicorn), as Ferry reaches it.

Prints the time to seed N records through the admin API, then pages/s and records/s reading
them all with limit 1000, first with a static token, then with an OAuth access token under
`updated_since`, and the server's peak RSS. Run: `uv run python tests/bench/bench_sandbox.py [N]`.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import sys
import time
from base64 import urlsafe_b64encode
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ferry_kit.infra import free_port  # noqa: E402
from support.procs import ServiceProcess  # noqa: E402

CALLBACK = "http://127.0.0.1:9/cb"


async def read_all(client: httpx.AsyncClient, token: str, **params: str) -> tuple[int, int, float]:
    records, pages, cursor = 0, 0, None
    started = time.perf_counter()
    while True:
        query = {"limit": 1000, **params, **({"cursor": cursor} if cursor else {})}
        r = await client.get(
            "/api/contacts", params=query, headers={"authorization": f"Bearer {token}"}
        )
        r.raise_for_status()
        body = r.json()
        records, pages, cursor = records + len(body["results"]), pages + 1, body["next_cursor"]
        if cursor is None:
            return records, pages, time.perf_counter() - started


async def oauth_token(client: httpx.AsyncClient, account: str) -> str:
    verifier = secrets.token_urlsafe(48)
    challenge = urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    r = await client.post(
        "/oauth/authorize",
        data={
            "response_type": "code",
            "client_id": "bench",
            "redirect_uri": CALLBACK,
            "scope": "contacts.read",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "account": account,
            "decision": "approve",
        },
    )
    code = parse_qs(urlsplit(r.headers["location"]).query)["code"][0]
    r = await client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "code_verifier": verifier,
        },
    )
    return r.raise_for_status().json()["access_token"]


async def bench(n: int) -> None:
    port, admin = free_port(), secrets.token_hex(8)
    proc = ServiceProcess(
        "ferry_sandbox", {"FERRY_SANDBOX_ADMIN_TOKEN": admin}, ["--port", str(port)]
    ).start()
    try:
        proc.wait_http(f"http://127.0.0.1:{port}/healthz")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            started = time.perf_counter()
            r = await client.post(
                "/_admin/accounts/bench/seed",
                json={"model": "contacts", "count": n},
                headers={"authorization": f"Bearer {admin}"},
            )
            r.raise_for_status()
            print(
                f"seed {n:,} contacts: {time.perf_counter() - started:.2f} s "
                "(HTTP round trip included)"
            )

            records, pages, took = await read_all(client, "static:bench")
            print(
                f"read with a static token: {records:,} records in {pages} pages, {took:.2f} s: "
                f"{pages / took:.1f} pages/s, {records / took:,.0f} records/s"
            )

            token = await oauth_token(client, "bench")
            records, pages, took = await read_all(
                client, token, updated_since="2000-01-01T00:00:00Z"
            )
            print(
                "read with an OAuth token and updated_since: "
                f"{records:,} records in {pages} pages, {took:.2f} s: "
                f"{pages / took:.1f} pages/s, {records / took:,.0f} records/s"
            )
            assert proc.proc is not None
            print(f"sandbox RSS: {psutil.Process(proc.proc.pid).memory_info().rss / 2**20:.0f} MiB")
    finally:
        proc.stop()


if __name__ == "__main__":
    asyncio.run(bench(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))

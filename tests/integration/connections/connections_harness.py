"""Steps the connections tests share: the internal API, the connect flow in a form browser,
the sandbox's admin API."""

from __future__ import annotations

import secrets
from typing import Any

import httpx

from ferry_cli.formbrowser import FormBrowser

RETURN_URL = "http://127.0.0.1:9/done"


class Harness:
    def __init__(
        self, url: str, sandbox_url: str, internal_token: str, sandbox_admin: str, bootstrap: str
    ) -> None:
        self.url, self.sandbox_url, self.bootstrap = url, sandbox_url, bootstrap
        self.token_keys = ""  # the service's FERRY_TOKEN_KEYS, to sign links as it does
        self.acme: Any = None  # the loopback provider of the auth-style tests
        self.api = httpx.AsyncClient(
            base_url=url, headers={"x-ferry-internal-token": internal_token}, timeout=30
        )
        self.sandbox = httpx.AsyncClient(
            base_url=sandbox_url, headers={"authorization": f"Bearer {sandbox_admin}"}, timeout=30
        )

    async def close(self) -> None:
        await self.api.aclose()
        await self.sandbox.aclose()

    async def create(
        self,
        project: str,
        user: str | None = None,
        *,
        provider: str = "sandbox",
        types: list[str] | None = None,
        expect: int = 201,
        **extra: Any,
    ) -> dict[str, Any]:
        body = {
            "provider_name": provider,
            "requested_data_types": types or ["CONTACTS", "INVOICES"],
            "return_url": RETURN_URL,
            **extra,
        }
        resp = await self.api.post(
            f"/internal/projects/{project}/users/{user or 'u-' + secrets.token_hex(3)}/connections",
            json=body,
        )
        assert resp.status_code == expect, resp.text
        return resp.json()

    async def configure(
        self, project: str, provider: str = "sandbox", **app: Any
    ) -> dict[str, Any]:
        """The project's app at the provider (PUT integrations)."""
        body = {"client_id": "ferry-tests", "client_secret": "cs-tests", **app}
        resp = await self.api.put(
            f"/internal/projects/{project}/integrations/{provider}", json=body
        )
        assert resp.status_code == 200, resp.text
        return resp.json()

    async def get(self, project: str, cid: str) -> dict[str, Any]:
        resp = await self.api.get(f"/internal/projects/{project}/connections/{cid}")
        assert resp.status_code == 200, resp.text
        return resp.json()

    async def patch(self, project: str, cid: str, **body: Any) -> httpx.Response:
        return await self.api.patch(f"/internal/projects/{project}/connections/{cid}", json=body)

    async def browse(
        self, redirect_url: str, *clicks: tuple[str, dict[str, str]], stop: str = RETURN_URL
    ) -> FormBrowser:
        browser = FormBrowser(stop_prefix=stop)
        try:
            await browser.open(redirect_url)
            for button, values in clicks:
                await browser.click(button, **values)
        finally:
            await browser.close()
        return browser

    async def connect(self, conn: dict[str, Any], account: str | None = None) -> str:
        """Connect and approve at the sandbox; returns the account used."""
        account = account or "acct-" + secrets.token_hex(4)
        browser = await self.browse(
            conn["redirect_url"], ("connect", {}), ("approve", {"account": account})
        )
        assert "status=success" in browser.url, browser.url
        return account

    async def connected(self, project: str, **kw: Any) -> tuple[dict[str, Any], str]:
        conn = await self.create(project, **kw)
        account = await self.connect(conn)
        return await self.get(project, conn["id"]), account

    async def stats(self, account: str) -> dict[str, Any]:
        return (await self.sandbox.get("/_admin/stats", params={"account": account})).json()

    async def revoke(self, account: str) -> None:
        assert (
            await self.sandbox.post("/_admin/tokens/revoke", json={"account": account})
        ).status_code == 200

    async def expire(self, account: str) -> None:
        assert (
            await self.sandbox.post("/_admin/tokens/expire", json={"account": account})
        ).status_code == 200

    async def credentials(
        self, cid: str, *, refresh: bool = False, rejected: str | None = None
    ) -> httpx.Response:
        path = f"/internal/connections/{cid}/credentials"
        if rejected is not None:
            return await self.api.post(path + "/refresh", json={"rejected_token_sha256": rejected})
        return await (self.api.post(path + "/refresh") if refresh else self.api.get(path))

    async def token_error(self, error: str) -> None:
        """Make the sandbox's token endpoint answer this OAuth error ("" stops it)."""
        resp = await self.sandbox.put("/_admin/faults", json={"token_error": error})
        assert resp.status_code == 200, resp.text

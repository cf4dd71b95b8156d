"""Helpers for the sandbox tests: a hand-moved clock and a client that knows the OAuth dance."""

from __future__ import annotations

import hashlib
import secrets
from base64 import urlsafe_b64encode
from urllib.parse import parse_qs, urlsplit

import httpx

ADMIN_TOKEN = "sbx-admin-test"
REDIRECT_URI = "https://ferry.test/oauth/callback"


class HandClock:
    def __init__(self) -> None:
        self.now = 1_750_000_000.0

    def __call__(self) -> float:
        return self.now


def challenge_of(verifier: str) -> str:
    return urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


class Harness:
    def __init__(self, client: httpx.AsyncClient, clock: HandClock) -> None:
        self.client = client
        self.clock = clock
        self.admin = {"authorization": f"Bearer {ADMIN_TOKEN}"}

    async def seed(self, account: str, model: str, count: int) -> dict:
        r = await self.client.post(
            f"/_admin/accounts/{account}/seed",
            json={"model": model, "count": count},
            headers=self.admin,
        )
        assert r.status_code == 200, r.text
        return r.json()

    async def records(self, account: str, model: str) -> list[dict]:
        r = await self.client.get(f"/_admin/accounts/{account}/records/{model}", headers=self.admin)
        assert r.status_code == 200, r.text
        return r.json()["records"]

    async def authorize(self, account: str, scope: str, verifier: str) -> str:
        """Approve the consent form as a browser would; returns the authorization code."""
        r = await self.client.post(
            "/oauth/authorize",
            data={
                "response_type": "code",
                "client_id": "ferry",
                "redirect_uri": REDIRECT_URI,
                "scope": scope,
                "state": "s-1",
                "code_challenge": challenge_of(verifier),
                "code_challenge_method": "S256",
                "account": account,
                "decision": "approve",
            },
        )
        assert r.status_code == 302, r.text
        query = parse_qs(urlsplit(r.headers["location"]).query)
        assert query["state"] == ["s-1"]
        return query["code"][0]

    async def token(self, **form: str) -> httpx.Response:
        return await self.client.post("/oauth/token", data=form)

    async def connect(self, account: str, scope: str = "contacts.read contacts.write") -> dict:
        verifier = secrets.token_urlsafe(48)
        code = await self.authorize(account, scope, verifier)
        r = await self.token(
            grant_type="authorization_code",
            code=code,
            redirect_uri=REDIRECT_URI,
            code_verifier=verifier,
            client_id="ferry",
        )
        assert r.status_code == 200, r.text
        return r.json()

    async def api(self, method: str, path: str, token: str, **kw) -> httpx.Response:
        return await self.client.request(
            method, path, headers={"authorization": f"Bearer {token}"}, **kw
        )

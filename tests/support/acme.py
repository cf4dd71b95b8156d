"""A small provider on loopback for the auth styles: an OAuth server (client_secret_basic, no
PKCE, nested expires_in, instance_url), a client-credentials token endpoint, an API-key API and
a Basic one, each with a check endpoint. It records what it was sent."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from .loopback import Loopback

# Its definitions, loaded through FERRY_CONNECTORS_PATH as a customer's own would be.
DEFINITIONS = Path(__file__).parent / "definitions"
API_KEY = "key-" + "a1" * 8
USER, PASSWORD = "ada", "pw-" + "b2" * 6


class Acme(Loopback):
    def __init__(self) -> None:
        self.authorizations: list[dict[str, str]] = []
        self.token_requests: list[dict[str, Any]] = []
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> client id
        self.app = Starlette(
            routes=[
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
                Route("/cc/token", self.cc_token, methods=["POST"]),
                Route("/me", self.me),
                Route("/basic/me", self.basic_me),
            ]
        )

    async def authorize(self, request: Request) -> Response:
        query = dict(request.query_params)
        self.authorizations.append(query)
        back = {"code": "code-" + query["client_id"], "state": query["state"], "realmId": "r-42"}
        return RedirectResponse(f"{query['redirect_uri']}?{urlencode(back)}", 302)

    async def _form(self, request: Request) -> dict[str, Any]:
        form = dict(await request.form())
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        basic = base64.b64decode(value).decode() if scheme == "Basic" else None
        seen = {"form": form, "basic": basic}
        self.token_requests.append(seen)
        return seen

    async def token(self, request: Request) -> Response:
        seen = await self._form(request)
        if not seen["basic"] or "client_secret" in seen["form"]:
            return JSONResponse({"error": "invalid_client"}, 401)
        client_id = seen["basic"].split(":", 1)[0]
        form = seen["form"]
        if form["grant_type"] == "refresh_token":
            if self.refresh_tokens.get(form["refresh_token"]) != client_id:
                return JSONResponse({"error": "invalid_grant"}, 400)
            return JSONResponse(
                {"access_token": "at-" + secrets.token_hex(6), "data": {"expires_in": 1800}}
            )  # no rotation
        refresh = "rt-" + secrets.token_hex(6)
        self.refresh_tokens[refresh] = client_id
        return JSONResponse(
            {
                "access_token": "at-" + secrets.token_hex(6),
                "refresh_token": refresh,
                "data": {"expires_in": 3600},
                "scope": "contacts.read,crm.read",
                "instance_url": f"{self.url}/i/{client_id}",
            }
        )

    async def cc_token(self, request: Request) -> Response:
        seen = await self._form(request)
        if seen["form"].get("grant_type") != "client_credentials" or not seen["form"].get(
            "client_id"
        ):
            return JSONResponse({"error": "invalid_client"}, 401)
        return JSONResponse({"access_token": "cc-" + secrets.token_hex(6), "expires_in": 600})

    async def me(self, request: Request) -> Response:
        ok = request.headers.get("x-api-key") == API_KEY
        return JSONResponse({"id": "me"} if ok else {"error": "bad key"}, 200 if ok else 401)

    async def basic_me(self, request: Request) -> Response:
        good = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        ok = request.headers.get("authorization") == good
        return JSONResponse({"id": "me"} if ok else {"error": "no"}, 200 if ok else 401)

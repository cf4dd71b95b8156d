"""HubSpot on loopback, answering as HubSpot's public documentation shows: the OAuth consent
page and token endpoint (authorization code, refresh), the CRM v3 search, the archived listing,
create and update, a 429 with HubSpot's rate-limit headers, and 401s for expired tokens.

It serves one account (`account`), which the test seeds and changes, and records what it was
sent (`authorizations`, `token_requests`, `searches`, `writes`) for the test to check.
"""

from __future__ import annotations

import html
import secrets
import time
import uuid
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ..loopback import LoopbackServer
from .hubspot_account import Account, BadRequest

KINDS = ("contacts", "companies")
WINDOW_MS, WINDOW_MAX = 10_000, 110  # the burst limit of an OAuth app, per account

CONSENT = """<!doctype html><title>Connect to HubSpot</title>
<h1>{client_id} wants to access your HubSpot account</h1><ul>{scopes}</ul>
<form method="post" action="/oauth/authorize">{hidden}
<label for="portal_id">Account</label><input type="text" name="portal_id" id="portal_id"
value="{portal}"><button type="submit" id="approve" name="decision" value="approve">Connect app
</button><button type="submit" id="deny" name="decision" value="deny">Cancel</button></form>"""


def _error(status: int, message: str, category: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"status": "error", "message": message, "correlationId": str(uuid.uuid4()),
                         "category": category, **extra}, status_code=status)


class HubSpot(LoopbackServer):
    def __init__(self, client_id: str = "hs-client", portal_id: int = 4242) -> None:
        self.client_id, self.client_secret = client_id, "hs-secret-" + secrets.token_hex(8)
        self.portal_id, self.expires_in = portal_id, 1800
        self.account = Account()
        self.codes: dict[str, dict[str, str]] = {}
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> client id
        self.access_tokens: dict[str, float] = {}  # access token -> expiry (epoch seconds)
        self.authorizations: list[dict[str, str]] = []
        self.token_requests: list[dict[str, str]] = []
        self.searches: list[tuple[str, dict[str, Any]]] = []
        self.writes: list[tuple[str, str, Any]] = []
        self.rate_limited: list[str] = []  # the paths answered 429
        self._limit_next, self._limit_after, self._window = 0, 0, (0, 0)
        crm = "/crm/v3/objects/{kind:str}"
        super().__init__([Route("/oauth/authorize", self.authorize, methods=["GET", "POST"]),
                          Route("/oauth/v1/token", self.token, methods=["POST"]),
                          Route(crm + "/search", self.search, methods=["POST"]),
                          Route(crm, self.objects, methods=["GET", "POST"]),
                          Route(crm + "/{rid:str}", self.update, methods=["PATCH"])])

    # --- what the test changes -------------------------------------------------------------

    def rate_limit_searches(self, n: int, after: int = 0) -> None:
        """`n` search requests, once `after` more have been answered, get 429 (the secondly
        limit)."""
        self._limit_next, self._limit_after = n, after

    def expire_tokens(self) -> None:
        self.access_tokens = dict.fromkeys(self.access_tokens, 0.0)

    def uninstall(self) -> None:
        """The app is removed from the account: its tokens stop working, refresh tokens too."""
        self.refresh_tokens.clear()
        self.expire_tokens()

    # --- OAuth -----------------------------------------------------------------------------

    async def authorize(self, request: Request) -> Response:
        q = dict(await request.form()) if request.method == "POST" else dict(request.query_params)
        if q.get("client_id") != self.client_id or not q.get("redirect_uri"):
            return HTMLResponse("<h1>Authorization failed: unknown app or redirect</h1>", 400)
        if request.method == "GET":
            self.authorizations.append(q)
            keep = {k: q[k] for k in ("client_id", "redirect_uri", "scope", "state") if k in q}
            hidden = "".join(f'<input type="hidden" name="{k}" value="{html.escape(v)}">'
                             for k, v in keep.items())
            scopes = "".join(f"<li>{html.escape(s)}</li>" for s in q.get("scope", "").split())
            return HTMLResponse(CONSENT.format(client_id=html.escape(self.client_id),
                                               scopes=scopes, hidden=hidden, portal=self.portal_id))
        back: dict[str, str] = {"state": q.get("state", "")}
        if q.get("decision") == "approve":
            code = "code-" + secrets.token_hex(8)
            self.codes[code] = {"redirect_uri": q["redirect_uri"], "scope": q.get("scope", "")}
            back["code"] = code
        else:
            back["error"] = "access_denied"
        return RedirectResponse(f"{q['redirect_uri']}?{urlencode(back)}", 302)

    async def token(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        self.token_requests.append(form)
        if (form.get("client_id"), form.get("client_secret")) != (self.client_id,
                                                                  self.client_secret):
            return JSONResponse({"status": "BAD_CLIENT_ID", "message": "missing or unknown "
                                 "client id", "correlationId": str(uuid.uuid4())}, 400)
        if form.get("grant_type") == "authorization_code":
            grant = self.codes.pop(form.get("code", ""), None)
            if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
                return JSONResponse({"status": "BAD_AUTH_CODE", "message": "missing or unknown "
                                     "auth code", "correlationId": str(uuid.uuid4())}, 400)
            refresh = "rt-" + secrets.token_hex(12)
            self.refresh_tokens[refresh] = self.client_id
        elif form.get("grant_type") == "refresh_token":
            refresh = form.get("refresh_token", "")
            if self.refresh_tokens.get(refresh) != self.client_id:
                return JSONResponse({"status": "BAD_REFRESH_TOKEN", "message": "missing or "
                                     "unknown refresh token", "correlationId": str(uuid.uuid4())},
                                    400)
        else:
            return JSONResponse({"status": "BAD_GRANT_TYPE", "message": "unknown grant type"}, 400)
        access = "at-" + secrets.token_hex(12)
        self.access_tokens[access] = time.time() + self.expires_in
        return JSONResponse({"token_type": "bearer", "access_token": access,
                             "refresh_token": refresh, "expires_in": self.expires_in})

    # --- the CRM API -----------------------------------------------------------------------

    def _refused(self, request: Request) -> JSONResponse | None:
        if request.path_params["kind"] not in KINDS:
            return _error(404, "unknown object type", "OBJECT_NOT_FOUND")
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        expiry = self.access_tokens.get(token) if scheme.lower() == "bearer" else None
        if expiry is None:
            return _error(401, "Authentication credentials not found.", "INVALID_AUTHENTICATION")
        if expiry < time.time():
            return _error(401, "The OAuth token used to make this call expired.",
                          "EXPIRED_AUTHENTICATION")
        return None

    def _limits(self) -> dict[str, str]:
        """The headers of a non-search answer: the account's 10-second window."""
        now = int(time.time() * 1000)
        start, used = self._window
        start, used = (start, used + 1) if now - start < WINDOW_MS else (now, 1)
        self._window = (start, used)
        return {"X-HubSpot-RateLimit-Interval-Milliseconds": str(WINDOW_MS),
                "X-HubSpot-RateLimit-Max": str(WINDOW_MAX),
                "X-HubSpot-RateLimit-Remaining": str(max(WINDOW_MAX - used, 0)),
                "X-HubSpot-RateLimit-Daily": "500000",
                "X-HubSpot-RateLimit-Daily-Remaining": "499000"}

    def _too_many(self, request: Request) -> JSONResponse:
        self.rate_limited.append(request.url.path)
        body = {"status": "error", "message": "You have reached your secondly limit.",
                "errorType": "RATE_LIMIT", "correlationId": str(uuid.uuid4()),
                "policyName": "SECONDLY", "groupName": "publicapi:search"}
        headers = {"X-HubSpot-RateLimit-Interval-Milliseconds": "1000",
                   "X-HubSpot-RateLimit-Secondly": "5",
                   "X-HubSpot-RateLimit-Secondly-Remaining": "0",
                   "X-HubSpot-RateLimit-Max": "5", "X-HubSpot-RateLimit-Remaining": "0"}
        return JSONResponse(body, status_code=429, headers=headers)

    async def search(self, request: Request) -> Response:
        if (refused := self._refused(request)) is not None:
            return refused
        kind, body = request.path_params["kind"], await request.json()
        self.searches.append((kind, body))
        if self._limit_next > 0 and self._limit_after > 0:
            self._limit_after -= 1
        elif self._limit_next > 0:
            self._limit_next -= 1
            return self._too_many(request)
        try:
            return JSONResponse(self.account.search(kind, body))  # no rate-limit headers
        except BadRequest as e:
            return _error(400, str(e), "VALIDATION_ERROR")

    async def objects(self, request: Request) -> Response:
        if (refused := self._refused(request)) is not None:
            return refused
        kind, q = request.path_params["kind"], request.query_params
        if request.method == "POST":
            body = await request.json()
            self.writes.append(("POST", request.url.path, body))
            obj = self.account.create(kind, body.get("properties") or {})
            return JSONResponse(obj.view(list(obj.properties)), 201, headers=self._limits())
        url = str(request.url.remove_query_params("after"))
        try:
            page = self.account.listing(kind, q.get("archived") == "true",
                                        int(q.get("limit", 10)), q.get("after"), url)
        except BadRequest as e:
            return _error(400, str(e), "VALIDATION_ERROR")
        return JSONResponse(page, headers=self._limits())

    async def update(self, request: Request) -> Response:
        if (refused := self._refused(request)) is not None:
            return refused
        kind, body = request.path_params["kind"], await request.json()
        self.writes.append(("PATCH", request.url.path, body))
        obj = self.account.update(kind, request.path_params["rid"], body.get("properties") or {})
        if obj is None:
            return _error(404, "resource not found", "OBJECT_NOT_FOUND")
        return JSONResponse(obj.view(list(obj.properties)), headers=self._limits())

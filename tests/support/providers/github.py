"""GitHub on loopback, as docs.github.com shows it: an OAuth app's consent page and code exchange
(form-encoded unless the client accepts JSON; no expiry, no refresh token), repository issues
with `state`, `since`, `per_page`/`page` and RFC 8288 `Link` headers, create and update, and a
spent rate limit (403 with x-ratelimit-* headers). Tests seed and change issues in memory."""

from __future__ import annotations

import hashlib
import html
import secrets
import time
from base64 import urlsafe_b64encode
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ..loopback import Loopback

CLIENT_ID, CLIENT_SECRET = "Iv1.e2e0github", "gh-secret-" + "c3" * 8
DOCS = "https://docs.github.com/rest"
CONSENT = """<html><body><h1>Authorize {client}</h1><p>Scopes: {scope}</p>
<form method="post" action="/login/oauth/authorize">{hidden}
<button id="authorize" name="authorize" value="1">Authorize</button>
<button id="cancel" name="authorize" value="0">Cancel</button></form></body></html>"""


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch), UTC).isoformat().replace("+00:00", "Z")


class GitHub(Loopback):
    def __init__(self) -> None:
        self.repos: dict[str, dict[int, dict[str, Any]]] = {}
        self.codes: dict[str, dict[str, str]] = {}
        self.tokens: dict[str, str] = {}  # access token -> scope
        self.token_requests: list[dict[str, Any]] = []
        self.issue_requests: list[dict[str, Any]] = []  # query and headers of each list call
        self.writes: list[tuple[str, str, Any]] = []
        self.limited = 0  # the next list calls answered with a spent rate limit
        self.app = Starlette(routes=[
            Route("/login/oauth/authorize", self.consent, methods=["GET"]),
            Route("/login/oauth/authorize", self.decide, methods=["POST"]),
            Route("/login/oauth/access_token", self.access_token, methods=["POST"]),
            Route("/repos/{owner}/{repo}/issues", self.list_issues, methods=["GET"]),
            Route("/repos/{owner}/{repo}/issues", self.create_issue, methods=["POST"]),
            Route("/repos/{owner}/{repo}/issues/{number:int}", self.update_issue,
                  methods=["PATCH"])])

    # --- what tests do to the account --------------------------------------------------------

    def seed(self, repo: str, count: int, start: float = 1_700_000_000) -> None:
        issues = self.repos.setdefault(repo, {})
        for i in range(count):
            self.new_issue(repo, {"title": f"Issue {len(issues) + 1}"}, at=start + i)

    def new_issue(self, repo: str, fields: dict[str, Any], at: float | None = None) -> dict:
        issues = self.repos.setdefault(repo, {})
        number, now = max(issues, default=0) + 1, iso(at or time.time())
        issue = {"id": 10_000_000 + number, "node_id": f"I_{number}", "number": number,
                 "url": f"{self.url}/repos/{repo}/issues/{number}",
                 "repository_url": f"{self.url}/repos/{repo}", "state": "open",
                 "title": "", "body": None, "user": {"login": "octocat", "id": 1},
                 "labels": [], "comments": 0, "created_at": now, "updated_at": now,
                 "closed_at": None, **fields}
        issues[number] = issue
        return issue

    def touch(self, repo: str, number: int, **fields: Any) -> None:
        self.repos[repo][number].update(fields, updated_at=iso(time.time()))

    def delete(self, repo: str, number: int) -> None:
        del self.repos[repo][number]

    # --- OAuth app -----------------------------------------------------------------------------

    async def consent(self, request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != CLIENT_ID:
            return HTMLResponse("<h1>404</h1>", 404)
        keep = ("client_id", "redirect_uri", "scope", "state", "code_challenge",
                "code_challenge_method")
        hidden = "".join(f'<input type="hidden" name="{k}" value="{html.escape(q.get(k, ""))}">'
                         for k in keep)
        return HTMLResponse(CONSENT.format(client=CLIENT_ID, scope=html.escape(q.get("scope", "")),
                                           hidden=hidden))

    async def decide(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        if form.get("authorize") != "1":
            back = {"error": "access_denied", "state": form["state"]}
        else:
            code = secrets.token_hex(10)
            self.codes[code] = form
            back = {"code": code, "state": form["state"]}
        return RedirectResponse(f"{form['redirect_uri']}?{urlencode(back)}", 302)

    async def access_token(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        self.token_requests.append({"form": form, "accept": request.headers.get("accept", "")})
        grant = self.codes.pop(form.get("code", ""), None)
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            answer = {"error": "incorrect_client_credentials",
                      "error_description": "The client_id and/or client_secret are incorrect."}
        elif grant is None or not _pkce_ok(grant, form.get("code_verifier", "")):
            answer = {"error": "bad_verification_code",
                      "error_description": "The code passed is incorrect or expired."}
        else:
            token = "gho_" + secrets.token_hex(18)
            self.tokens[token] = grant["scope"]
            answer = {"access_token": token, "scope": grant["scope"], "token_type": "bearer"}
        # GitHub answers 200 even for errors, and JSON only when asked for it.
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse(answer)
        return Response(urlencode(answer), media_type="application/x-www-form-urlencoded")

    # --- REST API ----------------------------------------------------------------------------

    def _denied(self, request: Request) -> Response | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() not in ("bearer", "token") or token not in self.tokens:
            return JSONResponse({"message": "Bad credentials", "documentation_url": DOCS,
                                 "status": "401"}, 401)
        return None

    def _budget(self, remaining: int) -> dict[str, str]:
        return {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": str(remaining),
                "x-ratelimit-used": str(5000 - remaining), "x-ratelimit-resource": "core",
                "x-ratelimit-reset": str(int(time.time()) + 2)}

    async def list_issues(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        q = request.query_params
        self.issue_requests.append({**q, "accept": request.headers.get("accept"),
                                    "api_version": request.headers.get("x-github-api-version")})
        if self.limited > 0:
            self.limited -= 1
            return JSONResponse({"message": "API rate limit exceeded for user ID 1.",
                                 "documentation_url": DOCS}, 403, headers=self._budget(0))
        repo = f"{request.path_params['owner']}/{request.path_params['repo']}"
        rows = [i for i in self.repos.get(repo, {}).values()
                if q.get("state", "open") in ("all", i["state"])
                and ("since" not in q or i["updated_at"] >= q["since"])]
        rows.sort(key=lambda i: (i["updated_at"], i["number"]),
                  reverse=q.get("direction") != "asc")
        size, page = min(int(q.get("per_page", 30)), 100), int(q.get("page", 1))
        chunk = rows[(page - 1) * size: page * size]
        headers = self._budget(4000)
        if page * size < len(rows):
            last = -(-len(rows) // size)
            link = {k: v for k, v in q.items() if k != "page"}
            base = f"{self.url}{request.url.path}?"
            headers["link"] = (f'<{base}{urlencode({**link, "page": page + 1})}>; rel="next", '
                               f'<{base}{urlencode({**link, "page": last})}>; rel="last"')
        return JSONResponse(chunk, headers=headers)

    async def _write(self, request: Request) -> tuple[str, dict[str, Any]] | Response:
        if (denied := self._denied(request)) is not None:
            return denied
        body = await request.json()
        self.writes.append((request.method, request.url.path, body))
        return f"{request.path_params['owner']}/{request.path_params['repo']}", body

    async def create_issue(self, request: Request) -> Response:
        if isinstance(got := await self._write(request), Response):
            return got
        repo, body = got
        if not body.get("title"):
            return JSONResponse({"message": "Validation Failed", "errors": [
                {"resource": "Issue", "code": "missing_field", "field": "title"}]}, 422)
        return JSONResponse(self.new_issue(repo, body), 201)

    async def update_issue(self, request: Request) -> Response:
        if isinstance(got := await self._write(request), Response):
            return got
        (repo, body), number = got, request.path_params["number"]
        if number not in self.repos.get(repo, {}):
            return JSONResponse({"message": "Not Found", "documentation_url": DOCS}, 404)
        self.touch(repo, number, **body)
        return JSONResponse(self.repos[repo][number])


def _pkce_ok(grant: dict[str, str], verifier: str) -> bool:
    if not grant.get("code_challenge"):
        return True  # GitHub does not require PKCE
    digest = hashlib.sha256(verifier.encode()).digest()
    return urlsafe_b64encode(digest).decode().rstrip("=") == grant["code_challenge"]

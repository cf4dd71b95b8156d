"""The provider's OAuth 2.0 endpoints: consent page, token endpoint, server metadata."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from ..oauth import ALL_SCOPES, AuthorizationRequest, OAuthError
from ..state import SandboxDep, json_response

router = APIRouter()
_pages = Environment(
    loader=PackageLoader("ferry_sandbox", "templates"), autoescape=select_autoescape()
)
_NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}


def _describe(scope: str) -> str:
    model, _, access = scope.partition(".")
    return f"{'read' if access == 'read' else 'create and change'} your {model}"


def _consent(
    authz: AuthorizationRequest, account: str = "", error: str | None = None, status: int = 200
) -> HTMLResponse:
    html = _pages.get_template("consent.html").render(
        authz=authz,
        account=account,
        error=error,
        describe=_describe,
        redirect_host=urlsplit(authz.redirect_uri).netloc,
    )
    return HTMLResponse(html, status, headers=_NO_STORE)


def _bad_request(message: str) -> HTMLResponse:
    return HTMLResponse(_pages.get_template("error.html").render(message=message), 400)


def _redirect(uri: str, params: dict[str, str | None]) -> RedirectResponse:
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + [
        (k, v) for k, v in params.items() if v is not None
    ]
    return RedirectResponse(
        urlunsplit(parts._replace(query=urlencode(query))), 302, headers=_NO_STORE
    )


@router.get("/oauth/authorize")
async def authorize_page(request: Request) -> Response:
    try:
        authz = AuthorizationRequest.parse(request.query_params)
    except ValueError as e:
        return _bad_request(str(e))
    return _consent(authz)


@router.post("/oauth/authorize")
async def authorize_decision(request: Request, sandbox: SandboxDep) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    try:
        authz = AuthorizationRequest.parse(form)
    except ValueError as e:
        return _bad_request(str(e))
    decision = form.get("decision")
    if decision == "deny":
        return _redirect(authz.redirect_uri, {"error": "access_denied", "state": authz.state})
    if decision != "approve":
        return _bad_request("decision must be 'approve' or 'deny'")
    account = form.get("account", "").strip()
    if not account or len(account) > 200:
        return _consent(
            authz, account, "Enter the sandbox account to connect (1 to 200 characters).", 400
        )
    code = sandbox.auth.issue_code(authz, account)
    return _redirect(authz.redirect_uri, {"code": code, "state": authz.state})


@router.post("/oauth/token")
async def token(request: Request, sandbox: SandboxDep) -> Response:
    # Client authentication (body or HTTP Basic) is accepted whatever it says: nothing to read.
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    grant_type = form.get("grant_type")
    refresh = grant_type == "refresh_token"
    sandbox.stats.token_request(
        sandbox.auth.account_of(code=form.get("code"), refresh_token=form.get("refresh_token")),
        refresh,
    )
    fault = sandbox.faults.token_error
    if fault:
        status = {"server_error": 503, "invalid_client": 401}.get(fault, 400)
        description = "injected failure (faults.token_error)"
        return json_response({"error": fault, "error_description": description}, status, _NO_STORE)
    try:
        if grant_type == "authorization_code":
            body = sandbox.auth.exchange_code(
                form.get("code", ""), form.get("redirect_uri"), form.get("code_verifier")
            )
        elif refresh:
            body = sandbox.auth.refresh(form.get("refresh_token"), form.get("scope"))
        elif not grant_type:
            raise OAuthError("invalid_request", "grant_type is required")
        else:
            raise OAuthError(
                "unsupported_grant_type", f"grant_type {grant_type!r} is not supported"
            )
    except OAuthError as e:
        return json_response({"error": e.error, "error_description": e.description}, 400, _NO_STORE)
    return json_response(body, 200, _NO_STORE)


@router.get("/.well-known/oauth-authorization-server")
async def metadata(sandbox: SandboxDep) -> Response:
    base = sandbox.settings.public_url.rstrip("/")
    body: dict[str, Any] = {
        "issuer": base,
        "authorization_endpoint": f"{base}/oauth/authorize",
        "token_endpoint": f"{base}/oauth/token",
        "scopes_supported": sorted(ALL_SCOPES),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": [
            "none",
            "client_secret_post",
            "client_secret_basic",
        ],
    }
    return json_response(body)

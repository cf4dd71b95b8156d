"""Console sessions: an encrypted, HttpOnly, SameSite=Strict cookie, and CSRF tokens.

The cookie holds the credential the console signs in with (a secret key or the admin token),
sealed with AES-GCM under a key derived from the admin token: the browser can neither read nor
change it. Every form carries the session's CSRF token; sign-in uses a double-submit cookie.
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import secrets
import time
from dataclasses import asdict, dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi import Request, Response

COOKIE = "ferry_console"
LOGIN_CSRF_COOKIE = "ferry_console_login"
LIFETIME_SECONDS = 8 * 3600


@dataclass(frozen=True)
class Session:
    kind: str  # "key" (a project's secret key) or "admin" (the admin token)
    credential: str
    csrf: str
    expires: float
    project_id: str | None = None  # admin sessions: the project picked

    def with_project(self, project_id: str) -> Session:
        return Session(self.kind, self.credential, self.csrf, self.expires, project_id)


def _key(admin_token: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"ferry console session")
    return hkdf.derive(admin_token.encode())


def seal(session: Session, admin_token: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_key(admin_token)).encrypt(nonce, json.dumps(asdict(session)).encode(), None)
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(value: str, admin_token: str) -> Session | None:
    try:
        raw = base64.urlsafe_b64decode(value.encode())
        plain = AESGCM(_key(admin_token)).decrypt(raw[:12], raw[12:], None)
        session = Session(**json.loads(plain))
    except Exception:  # noqa: BLE001 - any tampered or stale cookie is simply no session
        return None
    return session if session.expires > time.time() else None


def new(kind: str, credential: str) -> Session:
    return Session(kind, credential, secrets.token_urlsafe(24), time.time() + LIFETIME_SECONDS)


def current(request: Request) -> Session | None:
    value = request.cookies.get(COOKIE)
    return unseal(value, request.app.state.settings.admin_token) if value else None


def _secure(request: Request) -> bool:
    return str(request.app.state.settings.public_url).startswith("https://")


def store(response: Response, request: Request, session: Session | None) -> None:
    if session is None:
        response.delete_cookie(COOKIE, path="/console")
        return
    response.set_cookie(COOKIE, seal(session, request.app.state.settings.admin_token),
                        max_age=LIFETIME_SECONDS, path="/console", httponly=True,
                        samesite="strict", secure=_secure(request))


def login_token() -> str:
    return secrets.token_urlsafe(24)


def store_login_token(request: Request, response: Response, token: str) -> None:
    """The sign-in form's double-submit token, also in a cookie only this site sends."""
    response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, path="/console", httponly=True,
                        samesite="strict", secure=_secure(request))


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a).encode(), str(b).encode())

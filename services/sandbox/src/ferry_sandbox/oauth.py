"""The sandbox's OAuth 2.0 authorization server: codes with PKCE S256, rotating refresh tokens.

No HTTP here: the routes translate `OAuthError` into RFC 6749 error responses.
- Codes are single-use and live 10 minutes. Presenting a used code again revokes every token
  issued from it (RFC 6749 §4.1.2: the code was probably stolen).
- Each authorization starts a token *family*. A refresh returns a new access token and a new
  refresh token; the old refresh token is spent. Presenting a spent refresh token again is
  reuse detection: the whole family is revoked (OAuth 2.0 Security BCP §4.14).
- Client authentication is not checked: any client_id / client_secret is accepted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .store import MODELS

CODE_TTL_SECONDS = 600
ALL_SCOPES = frozenset(f"{m}.{a}" for m in MODELS for a in ("read", "write"))
STATIC_PREFIX = "static:"
_PKCE_VALUE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")  # RFC 7636 §4.1
_S256_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # base64url(sha256) without padding


class OAuthError(Exception):
    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass(frozen=True)
class AuthorizationRequest:
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    code_challenge: str

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> AuthorizationRequest:
        """The request of `GET /oauth/authorize`; raises ValueError listing every problem."""
        problems: list[str] = []
        if params.get("response_type") != "code":
            problems.append("response_type must be 'code'")
        client_id = (params.get("client_id") or "").strip()
        if not client_id:
            problems.append("client_id is required")
        redirect_uri = params.get("redirect_uri") or ""
        parts = urlsplit(redirect_uri)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
            problems.append("redirect_uri must be an absolute http(s) URL without a fragment")
        scopes = tuple(dict.fromkeys((params.get("scope") or "").split()))
        if not scopes:
            problems.append("scope is required")
        unknown = [s for s in scopes if s not in ALL_SCOPES]
        if unknown:
            problems.append(f"unknown scope(s): {' '.join(unknown)}")
        if params.get("code_challenge_method") != "S256":
            problems.append("code_challenge_method must be 'S256' (PKCE is required)")
        challenge = params.get("code_challenge") or ""
        if not _S256_CHALLENGE.match(challenge):
            problems.append("code_challenge must be 43 base64url characters (an S256 challenge)")
        if problems:
            raise ValueError("; ".join(problems))
        return cls(client_id, redirect_uri, scopes, params.get("state") or None, challenge)


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


@dataclass(frozen=True)
class Grant:
    """Who an access token speaks for and what it may do."""

    account: str
    scopes: frozenset[str]


@dataclass
class _Family:
    account: str
    scopes: tuple[str, ...]
    revoked: bool = False
    access_tokens: set[str] = field(default_factory=set)


@dataclass
class _Code:
    request: AuthorizationRequest
    account: str
    expires_at: float
    family: _Family | None = None  # set once exchanged


@dataclass
class _Refresh:
    family: _Family
    spent: bool = False


@dataclass
class _Access:
    grant: Grant
    family: _Family
    expires_at: float


class AuthServer:
    def __init__(self, access_ttl_seconds: int, clock: Callable[[], float] = time.time) -> None:
        self.access_ttl = access_ttl_seconds
        self._clock = clock
        self._codes: dict[str, _Code] = {}
        self._refresh: dict[str, _Refresh] = {}
        self._access: dict[str, _Access] = {}

    def reset(self) -> None:
        self._codes.clear()
        self._refresh.clear()
        self._access.clear()

    # ---- authorization ----

    def issue_code(self, request: AuthorizationRequest, account: str) -> str:
        code = secrets.token_urlsafe(32)
        self._codes[code] = _Code(request, account, self._clock() + CODE_TTL_SECONDS)
        return code

    def exchange_code(
        self, code: str, redirect_uri: str | None, code_verifier: str | None
    ) -> dict[str, Any]:
        if not code:
            raise OAuthError("invalid_request", "code is required")
        entry = self._codes.get(code)
        if entry is None:
            raise OAuthError("invalid_grant", "unknown authorization code")
        if entry.family is not None:
            self._revoke_family(entry.family)
            raise OAuthError(
                "invalid_grant", "authorization code already used; its tokens are revoked"
            )
        if self._clock() >= entry.expires_at:
            del self._codes[code]
            raise OAuthError("invalid_grant", "authorization code expired")
        if redirect_uri != entry.request.redirect_uri:
            raise OAuthError(
                "invalid_grant", "redirect_uri does not match the authorization request"
            )
        if not code_verifier or not _PKCE_VALUE.match(code_verifier):
            raise OAuthError(
                "invalid_grant", "code_verifier must be 43-128 characters of [A-Za-z0-9-._~]"
            )
        if not hmac.compare_digest(s256(code_verifier), entry.request.code_challenge):
            raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge")
        entry.family = _Family(entry.account, entry.request.scopes)
        return self._issue(entry.family, entry.family.scopes)

    # ---- refresh ----

    def refresh(self, refresh_token: str | None, scope: str | None = None) -> dict[str, Any]:
        if not refresh_token:
            raise OAuthError("invalid_request", "refresh_token is required")
        entry = self._refresh.get(refresh_token)
        if entry is None or entry.family.revoked:
            raise OAuthError("invalid_grant", "refresh token is invalid or revoked")
        if entry.spent:
            self._revoke_family(entry.family)
            raise OAuthError("invalid_grant", "refresh token reuse detected; the grant is revoked")
        scopes = entry.family.scopes
        if scope:
            wanted = tuple(dict.fromkeys(scope.split()))
            if not set(wanted) <= set(scopes):
                raise OAuthError("invalid_scope", "a refresh cannot add scopes to the grant")
            scopes = wanted
        entry.spent = True
        return self._issue(entry.family, scopes)

    def _issue(self, family: _Family, scopes: tuple[str, ...]) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self._access[access] = _Access(
            Grant(family.account, frozenset(scopes)), family, self._clock() + self.access_ttl
        )
        family.access_tokens.add(access)
        self._refresh[refresh] = _Refresh(family)
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.access_ttl,
            "refresh_token": refresh,
            "scope": " ".join(scopes),
        }

    # ---- resource server side ----

    def authenticate(self, access_token: str) -> Grant | None:
        """The grant of a live token; `static:<account>` tokens are always valid with every
        scope."""
        if access_token.startswith(STATIC_PREFIX):
            account = access_token[len(STATIC_PREFIX) :]
            return Grant(account, ALL_SCOPES) if account else None
        entry = self._access.get(access_token)
        if entry is None or entry.family.revoked or self._clock() >= entry.expires_at:
            return None
        return entry.grant

    # ---- control ----

    def _revoke_family(self, family: _Family) -> None:
        family.revoked = True
        for token in family.access_tokens:
            self._access.pop(token, None)
        family.access_tokens.clear()

    def revoke(self, account: str | None = None) -> int:
        """Revoke every grant (of one account): refresh then fails with invalid_grant."""
        families = {
            id(e.family): e.family
            for e in self._refresh.values()
            if not e.family.revoked and (account is None or e.family.account == account)
        }
        for family in families.values():
            self._revoke_family(family)
        return len(families)

    def expire_access(self, account: str | None = None) -> int:
        """Make live access tokens expired now, keeping refresh tokens usable."""
        now, count = self._clock(), 0
        for entry in self._access.values():
            if (account is None or entry.grant.account == account) and entry.expires_at > now:
                entry.expires_at = now
                count += 1
        return count

    def account_of(self, code: str | None = None, refresh_token: str | None = None) -> str | None:
        """The account a code or refresh token belongs to, for request statistics."""
        if code and code in self._codes:
            return self._codes[code].account
        if refresh_token and refresh_token in self._refresh:
            return self._refresh[refresh_token].family.account
        return None

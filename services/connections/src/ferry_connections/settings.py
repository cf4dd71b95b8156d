"""Connections service settings (FERRY_ prefix)."""

from __future__ import annotations

from ferry_kit.settings import KitSettings
from pydantic import Field


class Settings(KitSettings):
    # Token encryption keys, "kid:<base64 of 32 bytes>[,kid2:...]"; required, no default.
    token_keys: str = Field(min_length=4, repr=False)
    # The key new ciphertexts are written under; the others still decrypt (key rotation).
    token_active_key_id: str = Field(min_length=1)
    # Where end users' browsers reach Ferry (the gateway): redirect_url and the OAuth callback.
    public_url: str = "http://127.0.0.1:8080"
    # Where end users' browsers reach the sandbox provider (its consent page). OAuth clients
    # are each project's own (integrations), never the install's.
    sandbox_public_url: str | None = None
    # A connect link (`redirect_url`) works this long; GET or PATCH of the connection gives a
    # new one.
    connect_link_ttl_seconds: int = Field(7 * 86_400, ge=60)
    # The `state` of an authorization lives this long and is single use.
    connect_state_ttl_seconds: int = Field(600, ge=30)
    # Credentials expiring within this margin are refreshed before being handed out.
    token_refresh_margin_seconds: int = Field(60, ge=0)
    # A token refreshed this recently is handed out instead of refreshing again (a burst of
    # 401s after one expiry must not burn several rotations of the refresh token).
    token_refresh_reuse_seconds: float = Field(5.0, ge=0)
    provider_timeout_seconds: float = Field(20.0, gt=0)

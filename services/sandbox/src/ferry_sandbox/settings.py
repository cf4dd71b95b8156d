"""Settings of the sandbox provider (`FERRY_SANDBOX_` environment variables)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FERRY_SANDBOX_", extra="ignore")

    # Required: guards /_admin; no default so a forgotten secret refuses to start.
    admin_token: str
    # The base URL a browser uses to reach the sandbox (OAuth metadata, links).
    public_url: str = "http://127.0.0.1:8090"
    access_token_ttl_seconds: int = 3600
    host: str = "127.0.0.1"
    port: int = 8090
    default_page_size: int = 100
    max_page_size: int = 1000

"""Gateway settings."""

from __future__ import annotations

from ferry_kit.settings import KitSettings
from pydantic import Field


class Settings(KitSettings):
    # Operators create projects with this token (`POST /v1/projects`); no default.
    admin_token: str = Field(min_length=16)
    # The host part of end-user token audiences: aud must contain "<public_host>/<project_id>".
    public_host: str = "localhost:8080"
    public_url: str = "http://127.0.0.1:8080"
    proxy_timeout_seconds: float = 30.0
    # The public API listens here; None = internal_host.
    bind_host: str | None = None

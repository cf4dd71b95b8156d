"""Gateway settings."""

from __future__ import annotations

from ferry_kit.settings import KitSettings
from pydantic import Field

from .limits import MAX_BODY_BYTES, MAX_WRITE_BACK_BYTES


class Settings(KitSettings):
    # Operators create projects with this token (`POST /v1/projects`); no default.
    admin_token: str = Field(min_length=16)
    # The host part of end-user token audiences: aud must contain "<public_host>/<project_id>".
    public_host: str = "localhost:8080"
    public_url: str = "http://127.0.0.1:8080"
    proxy_timeout_seconds: float = 30.0
    # A secret key's project is remembered this long (0: asked of Postgres on every request); a
    # key revoked on another gateway process works at most this much longer (keycache.py).
    key_cache_seconds: float = Field(1.0, ge=0, le=60)
    # A job poll (`GET /v1/syncs/{id}`) is answered from the gateway's copy of the job when the
    # executor said it at most this long ago (a running job's progress comes every second);
    # otherwise the executor is asked. 0: always ask the executor.
    job_copy_max_age_seconds: float = Field(5.0, ge=0)
    # The public API listens here; None = internal_host.
    bind_host: str | None = None
    # Request bodies over these sizes answer 413 (write-back: POST/PATCH of a record).
    max_body_bytes: int = Field(MAX_BODY_BYTES, ge=1024)
    max_write_back_body_bytes: int = Field(MAX_WRITE_BACK_BYTES, ge=1024)

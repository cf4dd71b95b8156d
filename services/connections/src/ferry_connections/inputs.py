"""The bodies the connections service's internal API takes, validated by pydantic."""

from __future__ import annotations

from datetime import date
from typing import Literal

from ferry_contracts.values import Access, Frequency
from pydantic import BaseModel, ConfigDict, Field

_URL = r"^https?://[^\s\x00-\x1f\x7f/?#]+(/[^\s\x00-\x1f\x7f?#]*)?$"


class ModelConfigIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data_model: str = Field(min_length=1)
    frequency: Frequency = "DAILY"
    interval_minutes: int | None = Field(None, ge=1)
    access: Access = "READ"


class ProjectSyncConfigIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data_models: list[ModelConfigIn] = []
    full_sync_interval_hours: int = Field(24, ge=1, le=24 * 31)
    record_events_on_initial_sync: bool = False
    allowed_return_origins: list[str] = Field([], max_length=100)


class ConnectionModelConfigIn(ModelConfigIn):
    sync_from: date | None = None


class ConnectionSyncConfigIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data_models: list[ConnectionModelConfigIn]


class ConnectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider_name: str = Field(min_length=1)
    requested_data_types: list[str] = Field(min_length=1)
    skip_permissions: bool = False
    return_url: str | None = Field(None, max_length=2048, pattern=r"^https?://[^\s\x00-\x1f\x7f]+$")
    sync_config: ConnectionSyncConfigIn | None = None
    connection_config: dict[str, str | int] | None = None
    credentials: dict[str, str] | None = Field(None, repr=False)


class IntegrationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_id: str | None = Field(None, min_length=1, max_length=1024)
    client_secret: str | None = Field(None, min_length=1, max_length=4096, repr=False)
    scopes: list[str] = Field([], max_length=200)
    api_base_url: str | None = Field(None, max_length=2048, pattern=_URL)
    auth_base_url: str | None = Field(None, max_length=2048, pattern=_URL)


class RefreshBody(BaseModel):
    """The token the provider refused (as its SHA-256 hex), so only a still-current one is
    refreshed."""

    model_config = ConfigDict(extra="forbid")

    rejected_token_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")


class ConnectionPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["DISCONNECTED", "AUTH_REQUIRED"] | None = None
    requested_data_types: list[str] | None = Field(None, min_length=1)
    sync_config: ConnectionSyncConfigIn | None = None

"""The bodies the connections service's internal API takes, validated by pydantic."""

from __future__ import annotations

from ferry_contracts.internal.connections import (
    ConnectionPatch,
    ConnectionSyncConfigIn,
    IntegrationIn,
    SyncConfigIn,
)
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ConnectionIn", "ConnectionPatch", "ConnectionSyncConfigIn", "IntegrationIn",
           "ProjectSyncConfigIn", "RefreshBody"]

# The shared bodies are defined once, in the internal API's contract (the gateway sends them).
ProjectSyncConfigIn = SyncConfigIn


class ConnectionIn(BaseModel):
    """Credentials stay a plain mapping here: the provider's definition names and checks them."""

    model_config = ConfigDict(extra="forbid")

    provider_name: str = Field(min_length=1)
    requested_data_types: list[str] = Field(min_length=1)
    skip_permissions: bool = False
    return_url: str | None = Field(None, max_length=2048, pattern=r"^https?://[^\s\x00-\x1f\x7f]+$")
    sync_config: ConnectionSyncConfigIn | None = None
    connection_config: dict[str, str | int] | None = None
    credentials: dict[str, str] | None = Field(None, repr=False)


class RefreshBody(BaseModel):
    """The token the provider refused (as its SHA-256 hex), so only a still-current one is
    refreshed."""

    model_config = ConfigDict(extra="forbid")

    rejected_token_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")

"""A connector definition: one YAML file per provider, parsed and validated into these models.

The models are the schema: `ferry connectors schema` prints their JSON Schema, and a file that
does not fit them is refused with the location of every error. Strings marked *template* may
name `{base_url}`, `{auth_base_url}`, `{connection_config.<field>}` (and, where said, `{id}`,
`{access_token}`, `{api_key}`, `{since}`...);
templates are rendered by `ferry_connectors.template`. How a provider authenticates is declared
in `auth`, how each of its models is read and written in `model`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from .auth import (
    ApiKeyAuth,
    Auth,
    BasicAuth,
    Capture,
    ClientCredentialsAuth,
    InvalidGrant,
    NoAuth,
    OAuth2Auth,
    TokenResponse,
    Verify,
)
from .base import MODEL_NAME, NAME, Part
from .model import (
    CursorFromRecordPaging,
    CursorPaging,
    Deletion,
    EndpointDeletion,
    FullSyncDiff,
    Incremental,
    LinkHeaderPaging,
    Model,
    NextUrlPaging,
    NoPaging,
    OffsetPaging,
    PageNumberPaging,
    PageTokenPaging,
    Paging,
    Request,
    Scopes,
    TombstoneDeletion,
    Write,
    WriteOp,
)

__all__ = [
    "MODEL_NAME", "NAME", "ApiKeyAuth", "Auth", "BasicAuth", "Capture", "ClientCredentialsAuth",
    "ConfigField", "CursorFromRecordPaging", "CursorPaging", "Definition", "Deletion",
    "EndpointDeletion", "ErrorRule", "FullSyncDiff", "Incremental", "InvalidGrant",
    "LinkHeaderPaging", "Model", "NextUrlPaging", "NoAuth", "NoPaging", "OAuth2Auth",
    "OffsetPaging", "PageNumberPaging", "PageTokenPaging", "Paging", "RateLimit", "Request",
    "Scopes", "TokenResponse", "TombstoneDeletion", "Verify", "Write", "WriteOp",
]


class ConfigField(Part):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$|^[a-z][A-Za-z0-9]{0,62}$")
    type: Literal["string", "url", "integer"] = "string"
    required: bool = True
    pattern: str | None = None
    description: str = ""
    captured: bool = Field(False, description="filled during auth, not given at creation")


class RateLimit(Part):
    requests_per_second: float = Field(10.0, gt=0)
    burst: int = Field(20, ge=1)
    retry_after_header: str = "Retry-After"
    remaining_header: str | None = None
    reset_header: str | None = None
    reset_format: Literal["epoch_seconds", "seconds", "epoch_millis"] = "epoch_seconds"
    limited_statuses: list[int] = Field(default_factory=lambda: [429])


class ErrorRule(Part):
    """A provider answer mapped onto one of the executor's decisions."""

    status: int = Field(ge=400, le=599)
    body_contains: str | None = None
    decision: Literal["refresh", "retry_later", "rate_limited", "fail_model", "fail_job"] = Field(
        description="rate_limited: wait as the rate_limit headers say (a 403 that means a spent"
                    " budget, as GitHub answers)")


class Definition(Part):
    """One provider, as declared in its YAML file."""

    name: str = Field(pattern=NAME)
    display_name: str
    docs_url: str | None = None
    unique: bool = False
    min_sync_interval_minutes: int = Field(5, ge=1)
    base_url: str = Field(description="template; an integration's api_base_url overrides it")
    auth_base_url: str | None = Field(
        None, description="template for where browsers reach the provider; default: base_url")
    base_url_setting: str | None = Field(
        None, description="a Ferry setting that replaces base_url for this install (the sandbox)")
    auth: Auth
    verify: Verify | None = None
    connection_config: list[ConfigField] = Field(default_factory=list)
    rate_limit: RateLimit = Field(default_factory=RateLimit)
    errors: list[ErrorRule] = Field(default_factory=list)
    hook: str | None = Field(None, description="entry point name in group ferry.connectors")
    models: dict[Annotated[str, Field(pattern=MODEL_NAME)], Model]

    @model_validator(mode="after")
    def _has_models(self) -> Definition:
        if not self.models:
            raise ValueError("a definition needs at least one model")
        return self

"""A connector definition: one YAML file per provider, parsed and validated into these models.

The models are the schema: `ferry connectors schema` prints their JSON Schema, and a file that
does not fit them is refused with the location of every error. Strings marked *template* may
name `{base_url}`, `{auth_base_url}`, `{connection_config.<field>}` (and, where said, `{id}`,
`{access_token}`, `{api_key}`, `{since}`...);
templates are rendered by `ferry_connectors.template`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

NAME = r"^[a-z][a-z0-9_]{0,62}$"
MODEL_NAME = r"^[A-Z][A-Z0-9_]{0,63}$"


class _Def(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- auth -----------------------------------------------------------------------------------


class TokenResponse(_Def):
    """Where the token endpoint's answer keeps each value (dotted paths into its JSON)."""

    access_token: str = "access_token"
    refresh_token: str = "refresh_token"
    expires_in: str | None = Field("expires_in", description="null: tokens never expire")
    scope: str | None = "scope"
    default_expires_in: int | None = Field(
        None, ge=1, description="seconds, when the answer has no expires_in (null: never)")


class Capture(_Def):
    """A connection config value captured during auth (`instance_url`, `realmId`...)."""

    field: str = Field(description="the connection_config field it fills")
    source: Literal["token_response", "callback_query"]
    path: str = Field(description="dotted path in the token response, or the query parameter")


class InvalidGrant(_Def):
    """A token endpoint's own words for RFC 6749's `invalid_grant` (HubSpot answers
    `{"status": "BAD_REFRESH_TOKEN"}`): the end user must connect again."""

    path: str = Field(description="dotted path in the token endpoint's error answer")
    values: list[str] = Field(min_length=1)


class OAuth2Auth(_Def):
    """OAuth 2.0 authorization code (RFC 6749 4.1), with the provider app of each project."""

    type: Literal["oauth2"]
    authorize_url: str = Field(description="template")
    token_url: str = Field(description="template")
    scope_separator: str = " "
    scope_param: str = "scope"
    pkce: bool = True
    client_auth: Literal["client_secret_post", "client_secret_basic"] = "client_secret_post"
    authorize_params: dict[str, str] = Field(default_factory=dict)
    token_params: dict[str, str] = Field(default_factory=dict)
    token_response: TokenResponse = Field(default_factory=TokenResponse)
    capture: list[Capture] = Field(default_factory=list)
    refresh: bool = Field(True, description="false: tokens cannot be refreshed")
    rotates_refresh_token: bool = Field(False, description="a refresh answers a new refresh token")
    invalid_grant: InvalidGrant | None = Field(
        None, description="how a refused grant is said, when not as `error: invalid_grant`")
    header: dict[str, str] = Field(
        default_factory=lambda: {"Authorization": "Bearer {access_token}"},
        description="how the access token is sent (template with {access_token})")


class ClientCredentialsAuth(_Def):
    """OAuth 2.0 client credentials (RFC 6749 4.4): the project's app is the only party."""

    type: Literal["oauth2_client_credentials"]
    token_url: str = Field(description="template")
    scope_separator: str = " "
    client_auth: Literal["client_secret_post", "client_secret_basic"] = "client_secret_post"
    token_params: dict[str, str] = Field(default_factory=dict)
    token_response: TokenResponse = Field(default_factory=TokenResponse)
    header: dict[str, str] = Field(
        default_factory=lambda: {"Authorization": "Bearer {access_token}"})


class ApiKeyAuth(_Def):
    """A key the end user (or the customer, at creation) gives: sent in headers or the query."""

    type: Literal["api_key"]
    header: dict[str, str] = Field(
        default_factory=dict, description="e.g. {Authorization: 'Bearer {api_key}'}")
    query: dict[str, str] = Field(default_factory=dict, description="e.g. {api_key: '{api_key}'}")
    label: str = Field("API key", description="what the connect page's form calls it")
    help: str | None = Field(None, description="where the end user finds the key")

    @model_validator(mode="after")
    def _sent_somewhere(self) -> ApiKeyAuth:
        if not self.header and not self.query:
            raise ValueError("an api_key auth needs `header` or `query`")
        return self


class BasicAuth(_Def):
    """HTTP Basic (RFC 7617) with a username and password the end user gives."""

    type: Literal["basic"]
    username_label: str = "Username"
    password_label: str = "Password"
    help: str | None = None


class NoAuth(_Def):
    type: Literal["none"]
    header: dict[str, str] = Field(
        default_factory=dict, description="static headers; template with {connection_id}")


Auth = Annotated[
    OAuth2Auth | ClientCredentialsAuth | ApiKeyAuth | BasicAuth | NoAuth,
    Field(discriminator="type"),
]


class Verify(_Def):
    """A request that proves given credentials work before the connection is CONNECTED."""

    method: Literal["GET", "POST"] = "GET"
    path: str = Field(description="template, relative to base_url")


# --- connection config -----------------------------------------------------------------------


class ConfigField(_Def):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$|^[a-z][A-Za-z0-9]{0,62}$")
    type: Literal["string", "url", "integer"] = "string"
    required: bool = True
    pattern: str | None = None
    description: str = ""
    captured: bool = Field(False, description="filled during auth, not given at creation")


# --- requests, paging, incremental, deletion ---------------------------------------------------


class Request(_Def):
    method: Literal["GET", "POST"] = "GET"
    path: str = Field(description="template, relative to base_url")
    params: dict[str, str] = Field(default_factory=dict, description="query; values templated")
    body: dict[str, Any] | None = Field(
        None, description="JSON body template (POST search endpoints)")
    headers: dict[str, str] = Field(default_factory=dict)


class CursorPaging(_Def):
    """An opaque cursor read at a body path and sent back in the query or body."""

    type: Literal["cursor"]
    cursor_path: str = Field(description="dotted path in the answer, e.g. paging.next.after")
    cursor_param: str = Field(description="query parameter, or dotted body path when in: body")
    cursor_in: Literal["query", "body"] = "query"
    has_more_path: str | None = Field(None, description="a boolean that says more pages exist")
    restart_after: int | None = Field(
        None, ge=1, description="the provider answers at most this many results per query "
        "(HubSpot's search: 10,000): the query starts again from the last record's change time "
        "(needs `incremental` sorted ascending)")


class CursorFromRecordPaging(_Def):
    """The next page starts after the last record's id (Stripe's `starting_after`)."""

    type: Literal["cursor_from_record"]
    cursor_param: str
    record_path: str = "id"
    has_more_path: str | None = None


class NextUrlPaging(_Def):
    """The answer holds the next page's full URL (`nextRecordsUrl`, `@odata.nextLink`)."""

    type: Literal["next_url"]
    next_url_path: str


class LinkHeaderPaging(_Def):
    """RFC 8288: `Link: <...>; rel="next"`."""

    type: Literal["link_header"]


class OffsetPaging(_Def):
    type: Literal["offset"]
    offset_param: str = "offset"
    total_path: str | None = Field(None, description="ends when offset reaches it; else short page")
    offset_in: Literal["query", "body"] = "query"


class PageNumberPaging(_Def):
    type: Literal["page_number"]
    page_param: str = "page"
    start: int = 1
    total_pages_path: str | None = None


class PageTokenPaging(_Def):
    """Google-style `pageToken` / `nextPageToken`."""

    type: Literal["page_token"]
    token_param: str = "pageToken"
    token_path: str = "nextPageToken"


class NoPaging(_Def):
    type: Literal["none"]


Paging = Annotated[
    CursorPaging | CursorFromRecordPaging | NextUrlPaging | LinkHeaderPaging | OffsetPaging
    | PageNumberPaging | PageTokenPaging | NoPaging,
    Field(discriminator="type"),
]


class Incremental(_Def):
    """How to ask only for what changed since the last high-water mark."""

    param: str | None = Field(None, description="query parameter carrying the time")
    body_filter: dict[str, Any] | None = Field(
        None, description="merged into the request body; template with {since}")
    format: Literal["iso8601", "date", "epoch_seconds", "epoch_millis"] = "iso8601"
    lookback_seconds: int = Field(0, ge=0)
    high_water_path: str | None = Field(None, description="default: the model's updated_at")
    sorted: Literal["ascending", "none"] = "none"

    @model_validator(mode="after")
    def _one_way(self) -> Incremental:
        if (self.param is None) == (self.body_filter is None):
            raise ValueError("incremental needs exactly one of `param` or `body_filter`")
        return self


class FullSyncDiff(_Def):
    type: Literal["full_sync_diff"]


class TombstoneDeletion(_Def):
    """Deleted records come back flagged (`archived: true`, `deleted: true`, `is_deleted`)."""

    type: Literal["tombstone"]
    path: str
    value: Any = True
    request: Request | None = Field(None, description="a request that lists tombstones, if apart")


class EndpointDeletion(_Def):
    """A "deleted since" endpoint answering the ids (or records) deleted after a time."""

    type: Literal["endpoint"]
    request: Request
    records: str = Field("", description="body path of the list; empty: the body is the list")
    id: str = "id"
    since_param: str | None = Field(
        "since", description="query parameter carrying the time; null: the endpoint takes none")
    format: Literal["iso8601", "date", "epoch_seconds", "epoch_millis"] = "iso8601"
    deleted_at: str | None = Field(
        None, description="path of each row's deletion time; rows deleted before `since` are "
        "skipped (for listings of every deleted record, such as HubSpot's `archived=true`)")
    paging: Paging = Field(default_factory=lambda: NoPaging(type="none"))
    page_size: int = Field(100, ge=1)
    limit_param: str | None = Field(None, description="page size query parameter; null: none")


Deletion = Annotated[
    FullSyncDiff | TombstoneDeletion | EndpointDeletion, Field(discriminator="type")]


class WriteOp(_Def):
    method: Literal["POST", "PUT", "PATCH"]
    path: str = Field(description="template; {id} is the record id")
    body: Any = Field("{data}", description="template; {data} is the record the customer sent")
    records: str = Field("", description="body path of the written record; empty: the body")
    encoding: Literal["json", "form"] = Field(
        "json", description="form: application/x-www-form-urlencoded, nested keys as a[b][0]"
                            " (Stripe)")


class Write(_Def):
    create: WriteOp | None = None
    update: WriteOp | None = None


class Scopes(_Def):
    READ: list[str] = Field(default_factory=list)
    WRITE: list[str] = Field(default_factory=list)


class Model(_Def):
    request: Request
    records: str = Field("", description="body path of the record list; empty: the body")
    id: str | list[str] = Field("id", description="path, or paths joined with ':' (composite)")
    updated_at: str | None = "updated_at"
    fields: list[str] | None = Field(None, description="keep only these top-level fields")
    scopes: Scopes = Field(default_factory=Scopes)
    page_size: int = Field(100, ge=1)
    max_page_size: int | None = Field(None, ge=1)
    limit_param: str | None = Field("limit", description="page size parameter; null: none")
    limit_in: Literal["query", "body"] = "query"
    paging: Paging = Field(default_factory=lambda: NoPaging(type="none"))
    incremental: Incremental | None = None
    deletion: Deletion = Field(default_factory=lambda: FullSyncDiff(type="full_sync_diff"))
    write: Write | None = None

    @model_validator(mode="after")
    def _page_size_fits(self) -> Model:
        if self.max_page_size is not None and self.page_size > self.max_page_size:
            raise ValueError(f"page_size {self.page_size} is over max_page_size")
        restarts = isinstance(self.paging, CursorPaging) and self.paging.restart_after
        if restarts and (self.incremental is None or self.incremental.sorted != "ascending"):
            raise ValueError("paging.restart_after needs incremental sorted ascending")
        return self


class RateLimit(_Def):
    requests_per_second: float = Field(10.0, gt=0)
    burst: int = Field(20, ge=1)
    retry_after_header: str = "Retry-After"
    remaining_header: str | None = None
    reset_header: str | None = None
    reset_format: Literal["epoch_seconds", "seconds", "epoch_millis"] = "epoch_seconds"
    limited_statuses: list[int] = Field(default_factory=lambda: [429])


class ErrorRule(_Def):
    """A provider answer mapped onto one of the executor's decisions."""

    status: int = Field(ge=400, le=599)
    body_contains: str | None = None
    decision: Literal["refresh", "retry_later", "rate_limited", "fail_model", "fail_job"] = Field(
        description="rate_limited: wait as the rate_limit headers say (a 403 that means a spent"
                    " budget, as GitHub answers)")


class Definition(_Def):
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

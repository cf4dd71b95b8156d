"""How a connector reads a model: its request, paging, incremental filter, deletions, writes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from .base import Part


class Request(Part):
    method: Literal["GET", "POST"] = "GET"
    path: str = Field(description="template, relative to base_url")
    params: dict[str, str] = Field(default_factory=dict, description="query; values templated")
    body: dict[str, Any] | None = Field(
        None, description="JSON body template (POST search endpoints)")
    headers: dict[str, str] = Field(default_factory=dict)


class CursorPaging(Part):
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


class CursorFromRecordPaging(Part):
    """The next page starts after the last record's id (Stripe's `starting_after`)."""

    type: Literal["cursor_from_record"]
    cursor_param: str
    record_path: str = "id"
    has_more_path: str | None = None


class NextUrlPaging(Part):
    """The answer holds the next page's full URL (`nextRecordsUrl`, `@odata.nextLink`)."""

    type: Literal["next_url"]
    next_url_path: str


class LinkHeaderPaging(Part):
    """RFC 8288: `Link: <...>; rel="next"`."""

    type: Literal["link_header"]


class OffsetPaging(Part):
    type: Literal["offset"]
    offset_param: str = "offset"
    total_path: str | None = Field(None, description="ends when offset reaches it; else short page")
    offset_in: Literal["query", "body"] = "query"


class PageNumberPaging(Part):
    type: Literal["page_number"]
    page_param: str = "page"
    start: int = 1
    total_pages_path: str | None = None


class PageTokenPaging(Part):
    """Google-style `pageToken` / `nextPageToken`."""

    type: Literal["page_token"]
    token_param: str = "pageToken"
    token_path: str = "nextPageToken"


class NoPaging(Part):
    type: Literal["none"]


Paging = Annotated[
    CursorPaging | CursorFromRecordPaging | NextUrlPaging | LinkHeaderPaging | OffsetPaging
    | PageNumberPaging | PageTokenPaging | NoPaging,
    Field(discriminator="type"),
]


class Incremental(Part):
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


class FullSyncDiff(Part):
    type: Literal["full_sync_diff"]


class TombstoneDeletion(Part):
    """Deleted records come back flagged (`archived: true`, `deleted: true`, `is_deleted`)."""

    type: Literal["tombstone"]
    path: str
    value: Any = True
    request: Request | None = Field(None, description="a request that lists tombstones, if apart")


class EndpointDeletion(Part):
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


class WriteOp(Part):
    method: Literal["POST", "PUT", "PATCH"]
    path: str = Field(description="template; {id} is the record id")
    body: Any = Field("{data}", description="template; {data} is the record the customer sent")
    records: str = Field("", description="body path of the written record; empty: the body")
    encoding: Literal["json", "form"] = Field(
        "json", description="form: application/x-www-form-urlencoded, nested keys as a[b][0]"
                            " (Stripe)")


class Write(Part):
    create: WriteOp | None = None
    update: WriteOp | None = None


class Scopes(Part):
    READ: list[str] = Field(default_factory=list)
    WRITE: list[str] = Field(default_factory=list)


class Model(Part):
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


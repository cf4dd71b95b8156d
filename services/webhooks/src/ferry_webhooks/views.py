"""Reads of the webhooks service, and the shapes its internal API answers (API.md's)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import orjson
from ferry_kit import cursor, errors
from pydantic import BaseModel, PlainSerializer

from . import domain
from .handlers import ENDPOINT_NOT_FOUND
from .model import Attempt, Endpoint, Message, MessageFilter
from .repository import Repository

Reader = Callable[[], AbstractAsyncContextManager[Repository]]
# Times as this API has always written them: ISO 8601 with `Z`.
ZTime = Annotated[datetime, PlainSerializer(domain.iso, return_type=str)]


class EndpointOut(BaseModel):
    id: str
    url: str
    description: str | None
    event_types: list[str]
    enabled: bool
    ordered: bool
    created_at: ZTime
    disabled_at: ZTime | None
    disabled_reason: str | None

    @classmethod
    def of(cls, endpoint: Endpoint) -> EndpointOut:
        return cls.model_validate(endpoint, from_attributes=True)


class EndpointCreated(EndpointOut):
    """Only a new endpoint shows its secret."""

    secret: str

    @classmethod
    def of(cls, endpoint: Endpoint) -> EndpointCreated:
        return cls.model_validate(endpoint, from_attributes=True)


class EndpointsOut(BaseModel):
    data: list[EndpointOut]


class SecretOut(BaseModel):
    id: str
    secret: str


class ReplayedOut(BaseModel):
    replayed: int


class MessageReplayedOut(BaseModel):
    id: str
    replayed: bool


class AttemptOut(BaseModel):
    attempted_at: ZTime
    response_status: int | None
    latency_ms: float
    error: str | None
    response_excerpt: str | None

    @classmethod
    def of(cls, a: Attempt) -> AttemptOut:
        return cls(attempted_at=a.attempted_at, response_status=a.response_status,
                   latency_ms=round(a.latency_ms, 2), error=a.error,
                   response_excerpt=a.response_excerpt)


class MessageOut(BaseModel):
    id: str
    endpoint_id: str
    event_type: str
    type: str
    status: str
    connection_id: str | None
    created_at: ZTime
    delivered_at: ZTime | None
    next_attempt_at: ZTime | None
    attempt_count: int
    payload: Any
    attempts: list[AttemptOut]

    @classmethod
    def of(cls, m: Message, attempts: list[Attempt]) -> MessageOut:
        return cls(
            id=m.id, endpoint_id=m.endpoint_id, event_type=m.event_type, type=m.event_type,
            status=m.status, connection_id=m.connection_id, created_at=m.created_at,
            delivered_at=m.delivered_at,
            next_attempt_at=m.next_attempt_at if m.status in domain.WAITING else None,
            attempt_count=m.attempt_count, payload=orjson.loads(m.body),
            attempts=[AttemptOut.of(a) for a in attempts],
        )


class MessagesOut(BaseModel):
    data: list[MessageOut]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class MessagesQuery(MessageFilter):
    """The filter of a page of messages, with its size and where it starts."""

    limit: int = 50
    cursor: str | None = None


async def endpoints(read: Reader, project_id: str) -> EndpointsOut:
    async with read() as repos:
        rows = await repos.endpoints(project_id)
    return EndpointsOut(data=[EndpointOut.of(e) for e in rows])


async def endpoint(read: Reader, project_id: str, endpoint_id: str) -> EndpointOut:
    async with read() as repos:
        found = await repos.endpoint(project_id, endpoint_id)
    if found is None:
        raise errors.NotFound(ENDPOINT_NOT_FOUND)
    return EndpointOut.of(found)


async def messages(read: Reader, project_id: str, query: MessagesQuery) -> MessagesOut:
    """The project's messages, newest first, with their attempts; a page and the next cursor."""
    before = _check(query)
    async with read() as repos:
        rows = await repos.messages(project_id, query, before, query.limit + 1)
        page = rows[: query.limit]
        attempts = await repos.attempts([m.id for m in page])
    by_message: dict[str, list[Attempt]] = {}
    for a in attempts:
        by_message.setdefault(a.message_id, []).append(a)
    more = len(rows) > query.limit
    return MessagesOut(
        data=[MessageOut.of(m, by_message.get(m.id, [])) for m in page],
        next_cursor=cursor.encode_position("seq", page[-1].seq) if more else None,
    )


def _check(query: MessagesQuery) -> int | None:
    """The position the cursor stands for; 422 for an unknown filter value or a bad cursor."""
    if query.event_type is not None and query.event_type not in domain.EVENT_TYPES:
        raise _invalid("unknown event type", "event_type",
                       f"one of {', '.join(domain.EVENT_TYPES)}")
    if query.status is not None and query.status not in domain.STATUSES:
        raise _invalid("unknown status", "status", f"one of {', '.join(domain.STATUSES)}")
    if not query.cursor:
        return None
    before = cursor.decode_position(query.cursor, "seq")
    if before is None:
        raise _invalid("invalid cursor", "cursor", "invalid cursor")
    return before


def _invalid(message: str, field: str, detail: str) -> errors.Invalid:
    return errors.Invalid(message, [{"field": field, "message": detail}])

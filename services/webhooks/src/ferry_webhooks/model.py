"""The webhooks service's own records: what its storage holds and hands out (no behaviour)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

# The (type, data) of a webhook before it has an id and an endpoint.
Change = tuple[str, dict[str, Any]]
Lane = tuple[str, str]  # (endpoint id, lane name): the messages delivered one after another


@dataclass(frozen=True, slots=True)
class KnownConnection:
    """What the webhooks service keeps of a connection: its newest `connection.changed`."""

    connection_id: str
    project_id: str | None
    user_id: str | None
    provider_name: str | None
    status: str
    version: int


@dataclass(frozen=True, slots=True)
class Subscription:
    """An enabled endpoint of a project: which of its events it takes, and whether in order."""

    id: str
    project_id: str
    event_types: list[str]
    ordered: bool


@dataclass(frozen=True, slots=True)
class NewEndpoint:
    id: str
    project_id: str
    url: str
    description: str | None
    event_types: list[str]
    ordered: bool
    secret: str


@dataclass(frozen=True, slots=True)
class Endpoint(NewEndpoint):
    enabled: bool
    created_at: datetime
    disabled_at: datetime | None
    disabled_reason: str | None


@dataclass(frozen=True, slots=True)
class MessageFilter:
    endpoint_id: str | None = None
    event_type: str | None = None
    status: str | None = None


@dataclass(frozen=True, slots=True)
class ReplayTarget:
    status: str
    endpoint_id: str
    lane: str


@dataclass(frozen=True, slots=True)
class NewMessage:
    id: str
    project_id: str
    endpoint_id: str
    connection_id: str | None
    lane: str
    ordered: bool
    event_id: UUID
    event_type: str
    body: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Claimed:
    """A message claimed for one delivery attempt, with what its endpoint needs to sign it."""

    id: str
    endpoint_id: str
    lane: str
    tries: int
    body: str
    url: str
    secret: str
    previous_secret: str | None
    seq: int = 0  # its place in its lane


@dataclass(frozen=True, slots=True)
class Lease:
    """Who holds the lanes being delivered (one id per worker process), and for how long after
    each renewal."""

    worker: UUID
    seconds: float


@dataclass(frozen=True, slots=True)
class Outcome:
    message_id: str
    endpoint_id: str
    lane: str
    attempted_at: datetime
    response_status: int | None
    latency_ms: float
    error: str | None
    excerpt: str | None
    status: str  # delivered | retrying | failed
    tries: int
    next_attempt_at: datetime | None


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    seq: int
    endpoint_id: str
    connection_id: str | None
    event_type: str
    status: str
    body: str
    attempt_count: int
    next_attempt_at: datetime
    created_at: datetime
    delivered_at: datetime | None


@dataclass(frozen=True, slots=True)
class Attempt:
    message_id: str
    attempted_at: datetime
    response_status: int | None
    latency_ms: float
    error: str | None
    response_excerpt: str | None

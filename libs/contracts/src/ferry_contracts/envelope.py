"""The one envelope every event on every Ferry topic travels in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, TypeVar, cast
from uuid import UUID

import uuid_utils
from pydantic import BaseModel, ConfigDict, Field


def uuid7() -> UUID:
    """Time-ordered UUID: event ids sort by creation, which keeps inbox indexes compact."""
    return UUID(int=uuid_utils.uuid7().int)  # from its integer: a third less than from text


def utcnow() -> datetime:
    return datetime.now(UTC)


class Payload(BaseModel):
    """Base of every event payload; `EVENT_TYPE` names it on the wire."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    EVENT_TYPE: ClassVar[str] = ""


P = TypeVar("P", bound=Payload)


class Envelope(BaseModel, Generic[P]):
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: UUID = Field(default_factory=uuid7)
    type: str
    occurred_at: datetime = Field(default_factory=utcnow)
    project_id: str | None = None
    connection_id: str | None = None
    data: P

    @classmethod
    def of(
        cls,
        data: Payload,
        *,
        project_id: str | None = None,
        connection_id: str | None = None,
        **extra: Any,
    ) -> Envelope[Any]:
        typed = cast(Any, Envelope)[type(data)]  # parametrized at run time by the payload
        envelope: Envelope[Any] = typed(
            type=data.EVENT_TYPE,
            project_id=project_id,
            connection_id=connection_id,
            data=data,
            **extra,
        )
        return envelope

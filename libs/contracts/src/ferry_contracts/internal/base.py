"""What every internal client shares: safe paths, the transport it speaks through, a reply."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Protocol
from urllib.parse import quote

from pydantic import PlainSerializer

# Times as Python's isoformat (`+00:00`), as the internal APIs have always written them.
IsoTime = Annotated[datetime, PlainSerializer(datetime.isoformat, return_type=str)]
Params = Mapping[str, str | int | bool | None]


class UnsafePath(ValueError):
    """A piece of an internal URL that is empty, `.` or `..`: the resource cannot exist."""


def path(*segments: str) -> str:
    """An internal path from pieces, each percent-encoded as exactly one segment.

    Public route patterns already refuse odd ids; this is the second wall: a piece can never add
    a segment, climb out of one (`..`) or end up empty, whatever a route lets through.
    """
    for s in segments:
        if s in ("", ".", ".."):
            raise UnsafePath(f"{s!r} is not a path segment")
    return "/" + "/".join(quote(s, safe="") for s in segments)


@dataclass(frozen=True)
class Reply:
    """An internal answer as it came: status and raw body (relayed to the public caller)."""

    status: int
    content: bytes


class Transport(Protocol):
    """How a client reaches its service.

    `send` returns any answer as it is; `fetch` returns the JSON of a 2xx answer and raises the
    caller's own error for any other (the gateway raises the upstream's error to its caller).
    """

    async def send(
        self, method: str, path: str, *, json: Any = None, params: Params | None = None
    ) -> Reply: ...

    async def fetch(
        self, method: str, path: str, *, json: Any = None, params: Params | None = None
    ) -> Any: ...

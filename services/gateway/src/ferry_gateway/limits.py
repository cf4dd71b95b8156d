"""Request bodies: a size cap counted on the stream, and no NUL character in JSON strings.

The cap is counted on what arrives, not on Content-Length, which a client may omit or lie
about. NUL is refused here because Postgres text and jsonb cannot hold it: past the gateway it
would surface as a server error in whichever service stores it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ferry_kit.errors import body
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 1024 * 1024
MAX_WRITE_BACK_BYTES = 256 * 1024

# POST /v1/connections/{id}/records/{model} and PATCH .../{model}/{record_id}
_WRITE_BACK = {
    "POST": re.compile(r"^/v1/connections/[^/]+/records/[^/]+$"),
    "PATCH": re.compile(r"^/v1/connections/[^/]+/records/[^/]+/[^/]+$"),
}


class TooLarge(Exception):
    pass


def nul_at(value: Any, where: str = "") -> str | None:
    """The field path of the first NUL character in a JSON value (keys included), or None."""
    if isinstance(value, str):
        return (where or "body") if "\x00" in value else None
    if isinstance(value, dict):
        children = [(f"{where}.{k}" if where else k, k, v) for k, v in value.items()]
    elif isinstance(value, list):
        children = [(f"{where}[{i}]", "", v) for i, v in enumerate(value)]
    else:
        return None
    for name, key, item in children:
        found = name if "\x00" in key else nul_at(item, name)
        if found:
            return found
    return None


class BodyGuard:
    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES,
                 write_back_bytes: int = MAX_WRITE_BACK_BYTES) -> None:
        self.app, self.max_bytes, self.write_back_bytes = app, max_bytes, write_back_bytes

    def limit(self, scope: Scope) -> int:
        pattern = _WRITE_BACK.get(scope["method"])
        if pattern is not None and pattern.match(scope["path"]):
            return min(self.write_back_bytes, self.max_bytes)
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit(scope)
        if b"%00" in scope.get("query_string", b""):
            await _refuse(scope, receive, send, 422, "validation_error",
                          "the query string holds a NUL character", "query")
            return
        try:
            content = await _read(receive, limit, _declared_length(scope))
        except TooLarge:
            await _refuse(scope, receive, send, 413, "payload_too_large",
                          f"the request body is over {limit} bytes")
            return
        field = _nul_field(scope, content)
        if field is not None:
            message = f"{field} holds a NUL character (\\u0000), which Ferry cannot store"
            await _refuse(scope, receive, send, 422, "validation_error", message, field)
            return
        await self.app(scope, _replay(content, receive), send)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


async def _read(receive: Receive, limit: int, declared: int | None) -> bytes:
    if declared is not None and declared > limit:
        raise TooLarge
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _nul_field(scope: Scope, content: bytes) -> str | None:
    if b"\\u0000" not in content:  # JSON can only carry NUL as this escape
        return None
    try:
        return nul_at(json.loads(content))
    except (ValueError, RecursionError):
        return None  # not JSON: the route answers as it does to any malformed body


def _replay(content: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": content, "more_body": False}

    return replay


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, code: str,
                  message: str, field: str | None = None) -> None:
    details = [{"field": field, "message": message}] if field else []
    await JSONResponse(body(code, message, details), status_code=status)(scope, receive, send)

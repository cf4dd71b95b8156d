"""Python hooks: what a definition cannot say, registered by entry point.

A definition naming `hook: acme` uses the object (or class, instantiated once) registered as
`acme` in the entry point group `ferry.connectors`. It may define either method or both; the
default is no code at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from typing import Any, Protocol

GROUP = "ferry.connectors"


@dataclass
class HttpRequest:
    """One request about to be sent to a provider; a hook may change any part of it."""

    method: str
    url: str
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    form: list[tuple[str, str]] | None = None  # sent form-encoded instead of `json`


class Hook(Protocol):
    def transform_record(self, model: str, record: dict[str, Any]) -> dict[str, Any]: ...

    def prepare_request(self, model: str, request: HttpRequest) -> HttpRequest: ...


class NoHook:
    def transform_record(self, model: str, record: dict[str, Any]) -> dict[str, Any]:
        return record

    def prepare_request(self, model: str, request: HttpRequest) -> HttpRequest:
        return request


class _Partial(NoHook):
    """A hook that defines only some methods: the others do nothing."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def transform_record(self, model: str, record: dict[str, Any]) -> dict[str, Any]:
        fn = getattr(self.inner, "transform_record", None)
        return fn(model, record) if fn else record

    def prepare_request(self, model: str, request: HttpRequest) -> HttpRequest:
        fn = getattr(self.inner, "prepare_request", None)
        return fn(model, request) if fn else request


class HookNotFound(LookupError):
    pass


@cache
def load_hook(name: str | None) -> Hook:
    if name is None:
        return NoHook()
    found = entry_points(group=GROUP, name=name)
    if not found:
        raise HookNotFound(f"no entry point {name!r} in group {GROUP}")
    target = next(iter(found)).load()
    return _Partial(target() if isinstance(target, type) else target)

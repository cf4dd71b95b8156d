"""Every connector Ferry ships, by name."""

from __future__ import annotations

from .providers.sandbox import SANDBOX, SANDBOX_NOAUTH
from .sdk import Provider

_PROVIDERS: dict[str, Provider] = {p.name: p for p in (SANDBOX, SANDBOX_NOAUTH)}


def get_provider(name: str) -> Provider | None:
    return _PROVIDERS.get(name)


def all_providers() -> list[Provider]:
    return list(_PROVIDERS.values())

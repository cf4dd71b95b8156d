"""Every connector definition Ferry knows, by name: the catalogue and FERRY_CONNECTORS_PATH.

Definitions are loaded once per process (`reload()` forgets them). `get_provider` /
`all_providers` give the same definitions in the older `sdk.Provider` shape, for callers that
have not moved to definitions yet.
"""

from __future__ import annotations

from functools import cache

from .definition import Definition
from .hooks import Hook, load_hook
from .loader import load_all
from .sdk import Provider


@cache
def _definitions() -> dict[str, Definition]:
    return load_all()


@cache
def _providers() -> dict[str, Provider]:
    return {name: Provider.from_definition(d) for name, d in _definitions().items()}


def reload() -> None:
    _definitions.cache_clear()
    _providers.cache_clear()


def get_definition(name: str) -> Definition | None:
    return _definitions().get(name)


def all_definitions() -> list[Definition]:
    return list(_definitions().values())


def hook_of(definition: Definition) -> Hook:
    return load_hook(definition.hook)


def get_provider(name: str) -> Provider | None:
    return _providers().get(name)


def all_providers() -> list[Provider]:
    return list(_providers().values())

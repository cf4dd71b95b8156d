"""Every connector definition Ferry knows, by name: the catalogue and FERRY_CONNECTORS_PATH.

Definitions are loaded once per process (`reload()` forgets them).
"""

from __future__ import annotations

from functools import cache

from .definition import Definition
from .hooks import Hook, load_hook
from .loader import load_all


@cache
def _definitions() -> dict[str, Definition]:
    return load_all()


def reload() -> None:
    _definitions.cache_clear()


def get_definition(name: str) -> Definition | None:
    return _definitions().get(name)


def all_definitions() -> list[Definition]:
    return list(_definitions().values())


def hook_of(definition: Definition) -> Hook:
    return load_hook(definition.hook)

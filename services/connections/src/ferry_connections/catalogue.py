"""The providers of this install: their definitions (YAML), loaded once, and what the service
reads of them (models and scopes, connection config, where the provider is reached)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ferry_connectors.definition import Definition
from ferry_connectors.loader import load_all
from ferry_kit.errors import Conflict, Invalid

_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")
OAUTH = ("oauth2", "oauth2_client_credentials")


def render(template: str, values: Mapping[str, Any]) -> str:
    """`{name}` replaced by its value; names without one stay as written."""
    return _FIELD.sub(lambda m: str(values[m[1]]) if m[1] in values else m[0], template)


def template_values(connection_id: str, config: Mapping[str, Any], **more: Any) -> dict[str, Any]:
    return {"connection_id": connection_id, **more,
            **{f"connection_config.{k}": v for k, v in config.items()}}


@dataclass(frozen=True)
class ModelView:
    name: str
    read_scopes: tuple[str, ...]
    write_scopes: tuple[str, ...]
    supports_write: bool
    supports_incremental: bool

    def scopes(self, access: str) -> list[str]:
        read = list(self.read_scopes) if access in ("READ", "READ_WRITE") else []
        return read + (list(self.write_scopes) if access in ("WRITE", "READ_WRITE") else [])


class Provider:
    """One provider's definition as the connections service sees it."""

    def __init__(self, definition: Definition) -> None:
        d = self.definition = definition
        self.name, self.display_name, self.unique = d.name, d.display_name, d.unique
        self.min_sync_interval_minutes = d.min_sync_interval_minutes
        self.auth = d.auth
        self.auth_type = d.auth.type
        self.data_models = tuple(
            ModelView(name, tuple(m.scopes.READ), tuple(m.scopes.WRITE), m.write is not None,
                      m.incremental is not None) for name, m in d.models.items())

    def model(self, name: str) -> ModelView | None:
        return next((m for m in self.data_models if m.name == name.upper()), None)

    def scopes_for(self, access: Mapping[str, str]) -> list[str]:
        scopes: set[str] = set()
        for name, level in access.items():
            model = self.model(name)
            if model is not None:
                scopes.update(model.scopes(level))
        return sorted(scopes)

    def entry(self, configured: bool) -> dict[str, Any]:
        """The provider in `GET /v1/providers`."""
        fields = [{"name": f.name, "type": f.type, "required": f.required,
                   **({"pattern": f.pattern} if f.pattern else {}), "description": f.description}
                  for f in self.definition.connection_config if not f.captured]
        return {
            "name": self.name, "display_name": self.display_name, "auth_type": self.auth_type,
            "unique": self.unique, "min_sync_interval_minutes": self.min_sync_interval_minutes,
            "configured": configured, "connection_config": fields,
            "docs_url": self.definition.docs_url,
            "data_models": [{"name": m.name, "scopes": {"READ": list(m.read_scopes),
                                                        "WRITE": list(m.write_scopes)},
                             "supports_incremental": m.supports_incremental,
                             "supports_write": m.supports_write} for m in self.data_models],
        }

    def check_config(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """The connection config given at creation, checked against the declared fields."""
        declared = {f.name: f for f in self.definition.connection_config}
        details = [{"field": f"connection_config.{k}", "message": f"{self.name} has no such field"}
                   for k in given if k not in declared or declared[k].captured]
        out: dict[str, Any] = {}
        for f in declared.values():
            if f.captured:
                continue
            value = given.get(f.name)
            problem = _field_problem(f, value)
            if problem:
                details.append({"field": f"connection_config.{f.name}", "message": problem})
            elif value is not None:
                out[f.name] = value
        if details:
            raise Invalid("invalid connection_config", details)
        return out


def _field_problem(f: Any, value: Any) -> str | None:
    if value is None or value == "":
        return "is required" if f.required else None
    if f.type == "integer":
        whole = isinstance(value, int) and not isinstance(value, bool)
        return None if whole else "must be an integer"
    if not isinstance(value, str) or len(value) > 2048:
        return "must be a string of at most 2048 characters"
    if f.type == "url" and not re.match(r"^https?://[^\s/?#]+[^\s]*$", value):
        return "must be an http(s) URL"
    if f.pattern and not re.fullmatch(f.pattern, value):
        return f"must match {f.pattern}"
    return None


class Catalogue:
    def __init__(self, definitions: Mapping[str, Definition]) -> None:
        self._providers = {name: Provider(d) for name, d in definitions.items()}

    @classmethod
    def load(cls) -> Catalogue:
        return cls(load_all())

    def get(self, name: str) -> Provider | None:
        return self._providers.get(name)

    def installed(self, name: str) -> Provider:
        """A connection's provider; 409 when its connector was removed from this install (its
        connections cannot work)."""
        provider = self._providers.get(name)
        if provider is None:
            raise Conflict(f"provider {name} is not installed", "unknown_provider")
        return provider

    def all(self) -> list[Provider]:
        return list(self._providers.values())

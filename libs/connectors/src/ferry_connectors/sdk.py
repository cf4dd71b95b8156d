"""The older shape of a provider, built from its definition: a thin adapter.

The connections service still reads `Provider` (auth type, scopes, base URL, OAuth paths);
it is derived from the YAML definition, never declared on its own. It goes once the
connections service reads definitions (`ferry_connectors.registry.get_definition`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .definition import Access, Definition, NoAuth, OAuth2Auth
from .errors import bounded_seconds

__all__ = ["Access", "DataModel", "Provider", "bounded_seconds"]


@dataclass(frozen=True)
class DataModel:
    name: str  # upper case: CONTACTS
    path: str  # /api/contacts
    read_scopes: tuple[str, ...] = ()
    write_scopes: tuple[str, ...] = ()
    supports_incremental: bool = False
    supports_write: bool = False

    def scopes(self, access: Access) -> list[str]:
        out: list[str] = []
        if access in ("READ", "READ_WRITE"):
            out += self.read_scopes
        if access in ("WRITE", "READ_WRITE"):
            out += self.write_scopes
        return out


def _path_after_base(template: str) -> str:
    for prefix in ("{auth_base_url}", "{base_url}"):
        if template.startswith(prefix):
            return template[len(prefix):]
    return template


def _static_token(auth: NoAuth) -> str | None:
    value = auth.header.get("Authorization", "")
    return value[len("Bearer "):] if value.startswith("Bearer ") else None


@dataclass(frozen=True)
class Provider:
    name: str
    display_name: str
    auth_type: str
    data_models: tuple[DataModel, ...]
    unique: bool = False
    min_sync_interval_minutes: int = 5
    base_url_setting: str | None = None
    default_base_url: str | None = None
    authorize_path: str = "/oauth/authorize"
    token_path: str = "/oauth/token"
    static_token: str | None = None

    @classmethod
    def from_definition(cls, d: Definition) -> Provider:
        models = tuple(DataModel(
            name=name, path=m.request.path, read_scopes=tuple(m.scopes.READ),
            write_scopes=tuple(m.scopes.WRITE), supports_incremental=m.incremental is not None,
            supports_write=m.write is not None,
        ) for name, m in d.models.items())
        extra: dict[str, Any] = {}
        if isinstance(d.auth, OAuth2Auth):
            extra = {"authorize_path": _path_after_base(d.auth.authorize_url),
                     "token_path": _path_after_base(d.auth.token_url)}
        if isinstance(d.auth, NoAuth):
            extra["static_token"] = _static_token(d.auth)
        return cls(name=d.name, display_name=d.display_name, auth_type=d.auth.type,
                   data_models=models, unique=d.unique,
                   min_sync_interval_minutes=d.min_sync_interval_minutes,
                   base_url_setting=d.base_url_setting, default_base_url=d.base_url, **extra)

    def model(self, name: str) -> DataModel | None:
        wanted = name.upper()
        return next((m for m in self.data_models if m.name == wanted), None)

    def scopes_for(self, access: Mapping[str, Access]) -> list[str]:
        """The union of scopes the given models' access levels need, sorted."""
        scopes: set[str] = set()
        for model_name, level in access.items():
            model = self.model(model_name)
            if model is not None:
                scopes.update(model.scopes(level))
        return sorted(scopes)

    def base_url(self, settings: Any = None) -> str:
        if self.base_url_setting and settings is not None:
            value = getattr(settings, self.base_url_setting, None)
            if value:
                return str(value).rstrip("/")
        if self.default_base_url:
            return self.default_base_url.rstrip("/")
        raise ValueError(f"provider {self.name} has no base URL configured")

    def catalogue_entry(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "display_name": self.display_name,
            "auth_type": self.auth_type,
            "unique": self.unique,
            "min_sync_interval_minutes": self.min_sync_interval_minutes,
            "data_models": [
                {
                    "name": m.name,
                    "scopes": {"READ": list(m.read_scopes), "WRITE": list(m.write_scopes)},
                    "supports_incremental": m.supports_incremental,
                    "supports_write": m.supports_write,
                }
                for m in self.data_models
            ],
        }

"""Where an operator command finds Ferry: the `FERRY_*` environment in production, else the
files a running `ferry dev` wrote under `.ferry/`. A missing setting is one line naming it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

STATE_DIR = Path(".ferry")


class OperatorSettings(BaseSettings):
    """Every setting is optional here: what is missing comes from `.ferry/`, else is named."""

    model_config = SettingsConfigDict(env_prefix="FERRY_", extra="ignore")

    gateway_url: str | None = None
    public_url: str | None = None
    admin_token: str | None = Field(None, repr=False)
    secret_key: str | None = Field(None, repr=False)
    connections_url: str | None = None
    scheduler_url: str | None = None
    executor_url: str | None = None
    records_url: str | None = None
    webhooks_url: str | None = None


class MissingSetting(Exception):
    """Raised with the one line the operator needs to read."""


@dataclass(frozen=True)
class Target:
    gateway_url: str
    admin_token: str
    dev: dict[str, Any]  # .ferry/dev.json when there is one, else {}
    env: OperatorSettings

    def service_urls(self) -> dict[str, str]:
        """The internal health URLs: FERRY_<SERVICE>_URL, else the dev defaults."""
        out = {}
        for name, port in (("connections", 8081), ("scheduler", 8082), ("executor", 8083),
                           ("records", 8084), ("webhooks", 8085)):
            out[name] = getattr(self.env, f"{name}_url") or \
                self.dev.get(f"{name}_url") or f"http://127.0.0.1:{port}"
        return out


def _read(name: str) -> dict[str, Any]:
    path = STATE_DIR / name
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except ValueError as exc:
        raise MissingSetting(f"{path} is not valid JSON ({exc}); restart `ferry dev`") from None


def resolve() -> Target:
    env, dev = OperatorSettings(), _read("dev.json")
    url = env.gateway_url or env.public_url or dev.get("gateway_url")
    token = env.admin_token or _read("secrets.json").get("admin_token")
    if not url:
        raise MissingSetting("missing setting FERRY_PUBLIC_URL (the gateway's URL); or run this "
                             "beside `ferry dev`, which writes .ferry/dev.json")
    if not token:
        raise MissingSetting("missing setting FERRY_ADMIN_TOKEN; or run this beside `ferry dev`, "
                             "which writes .ferry/secrets.json")
    return Target(url.rstrip("/"), token, dev, env)


def project_key(target: Target) -> str:
    key = target.env.secret_key or target.dev.get("secret_key")
    if not key:
        raise MissingSetting("missing setting FERRY_SECRET_KEY (the project's secret key); or run "
                             "this beside `ferry dev`, which writes .ferry/dev.json")
    return key


def settings_problem(exc: Exception) -> str:
    """One line naming the settings a pydantic `ValidationError` is about."""
    errors = getattr(exc, "errors", lambda: [])()
    names = []
    for e in errors:
        field = "FERRY_" + str(e["loc"][0]).upper() if e.get("loc") else "a setting"
        names.append(f"{field} ({'missing' if e['type'] == 'missing' else e['msg']})")
    return "invalid or missing setting: " + ", ".join(names) if names else str(exc)

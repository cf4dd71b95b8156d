"""Load and run Ferry's services by name (the CLI is a composition root; services never import
it)."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import Any

from ferry_kit import logging as klog
from ferry_kit import migrate
from pydantic_settings import BaseSettings, SettingsConfigDict


class _Database(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FERRY_", extra="ignore")

    database_url: str | None = None


SERVICES = ("gateway", "connections", "scheduler", "executor", "records", "webhooks")
# Start order: owners of data first, the public gateway last.
START_ORDER = ("connections", "records", "webhooks", "executor", "scheduler", "gateway")


def module(service: str, name: str) -> Any:
    return importlib.import_module(f"ferry_{service}.{name}")


def composition_root(service: str) -> Any:
    """`bootstrap` for services in the one shape (docs/SERVICES.md), `app` for the others."""
    has_bootstrap = importlib.util.find_spec(f"ferry_{service}.bootstrap") is not None
    return module(service, "bootstrap" if has_bootstrap else "app")


def settings_of(service: str) -> Any:
    return module(service, "settings").Settings()


def migrations_dir(service: str) -> Path:
    return Path(composition_root(service).MIGRATIONS)


async def migrate_all() -> dict[str, list[str]]:
    from ferry_kit.settings import KitSettings

    # Migrations need the database only: the other required settings are not asked for.
    dsn = KitSettings.model_construct().database_url
    dsn = _Database().database_url or dsn
    return {s: await migrate.apply(dsn, s, migrations_dir(s)) for s in SERVICES}


def run_service(service: str) -> None:
    from ferry_kit.eventloop import run_loop
    from ferry_kit.runtime import run_forever

    settings = settings_of(service)
    klog.configure(settings.log_level, settings.log_format)
    app = composition_root(service)
    run_loop(run_forever(lambda: app.start(settings), app.stop), settings.event_loop)


def run_sandbox(host: str, port: int) -> None:
    import uvicorn
    from ferry_sandbox.app import create_app
    from ferry_sandbox.settings import Settings

    uvicorn.run(create_app(Settings()), host=host, port=port, log_level="warning",
                timeout_keep_alive=75)

"""The one entry point of every converted service: `python -m ferry_kit.main <service>`.

A service's `bootstrap.py` exposes `Settings`, `start(settings)` and `stop(service)`; its own
`__main__.py` is one call into `run`, so `python -m ferry_<service>` works too.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from . import logging as klog
from .eventloop import run_loop
from .runtime import run_forever
from .settings import KitSettings


def run(
    settings_type: type[KitSettings],
    start: Callable[[Any], Awaitable[Any]],
    stop: Callable[[Any], Awaitable[None]],
) -> None:
    settings = settings_type()
    klog.configure(settings.log_level, settings.log_format)
    run_loop(run_forever(lambda: start(settings), stop), settings.event_loop)


def run_service(name: str) -> None:
    bootstrap = importlib.import_module(f"ferry_{name}.bootstrap")
    run(bootstrap.Settings, bootstrap.start, bootstrap.stop)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m ferry_kit.main <service>")
    run_service(sys.argv[1])

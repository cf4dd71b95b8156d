"""Structured logging: JSON in production, readable lines in development; secrets redacted."""

from __future__ import annotations

import logging
import re
from typing import Any

import structlog

_SECRET_KEYS = re.compile(r"(token|secret|password|authorization|code_verifier|key)$", re.I)


def _redact(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    for name in list(event):
        if _SECRET_KEYS.search(name) and event[name] is not None:
            event[name] = "***"
    return event


def configure(level: str = "INFO", fmt: str = "console") -> None:
    logging.basicConfig(level=level.upper(), format="%(message)s")
    renderer: Any = (
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        cache_logger_on_first_use=True,
    )
    # aiokafka and FastStream log every message at INFO; keep them to warnings.
    for noisy in ("aiokafka", "faststream", "uvicorn.access", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def get(name: str) -> Any:
    return structlog.get_logger(name)

"""Structured logging: JSON in production, readable lines in development; secrets redacted."""

from __future__ import annotations

import logging
import re
from collections.abc import MutableMapping
from typing import Any

import structlog
import structlog.tracebacks

_SECRET_KEYS = re.compile(r"(token|secret|password|authorization|code_verifier|key)$", re.I)


def _redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for name in list(event):
        if _SECRET_KEYS.search(name) and event[name] is not None:
            event[name] = "***"
    return event


def _renderers(fmt: str) -> list[Any]:
    """Tracebacks without local variables: a frame's locals may hold a token or a client secret,
    and structlog's default console formatter (rich) and its dict tracebacks both print them."""
    if fmt == "json":
        plain = structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
        return [structlog.processors.ExceptionRenderer(plain), structlog.processors.JSONRenderer()]
    return [structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)]


# Libraries that log routine work at INFO: aiokafka and FastStream (partition assignments,
# "callback ... is being executed"), access lines. They speak at DEBUG only, else from WARNING.
NOISY = ("aiokafka", "faststream", "ferry.kafka", "uvicorn.access", "httpx", "httpcore")
KAFKA_LOGGER = "ferry.kafka"  # the logger FastStream brokers are given (see broker.py)


def configure(level: str = "INFO", fmt: str = "console") -> None:
    numeric = logging.getLevelName(level.upper())
    logging.basicConfig(level=numeric, format="%(message)s")
    logging.getLogger().setLevel(numeric)  # also when something configured logging before us
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact,
            *_renderers(fmt),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        cache_logger_on_first_use=True,
    )
    libraries = logging.DEBUG if numeric <= logging.DEBUG else max(numeric, logging.WARNING)
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(libraries)


def get(name: str) -> Any:
    return structlog.get_logger(name)

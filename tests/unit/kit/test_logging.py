"""Logs never carry secrets: tracebacks are rendered without local variables."""

from __future__ import annotations

import pytest
import structlog
from ferry_kit import logging as klog

SECRET = "tok-" + "x7Qp2" * 4


def _fail(access_token: str) -> None:
    raise RuntimeError("the provider failed")


@pytest.mark.parametrize("fmt", ["console", "json"])
def test_a_logged_exception_shows_no_local_variables(fmt, capsys):
    structlog.reset_defaults()
    klog.configure("DEBUG", fmt)
    try:
        _fail(SECRET)
    except RuntimeError:
        klog.get("test").exception("refresh failed")
    out = capsys.readouterr()
    assert "refresh failed" in out.out + out.err and "_fail" in out.out + out.err
    assert SECRET not in out.out + out.err
    structlog.reset_defaults()


def test_the_cli_never_shows_local_variables_in_its_pretty_exceptions():
    from ferry_cli.main import app, project_app

    assert app.pretty_exceptions_show_locals is False
    assert project_app.pretty_exceptions_show_locals is False


@pytest.mark.parametrize(("level", "kafka_info"), [("INFO", False), ("WARNING", False),
                                                   ("DEBUG", True)])
def test_kafka_and_faststream_chatter_shows_only_at_debug(level, kafka_info):
    import logging

    klog.configure(level, "console")
    for name in ("ferry.kafka", "aiokafka", "faststream"):
        assert logging.getLogger(name).isEnabledFor(logging.INFO) is kafka_info
    assert logging.getLogger().level == logging.getLevelName(level)
    structlog.reset_defaults()
    klog.configure("INFO", "console")
    structlog.reset_defaults()


def test_brokers_log_through_the_logger_the_level_applies_to():
    from ferry_kit.broker import make_broker
    from ferry_kit.settings import KitSettings

    broker = make_broker(KitSettings(internal_token="t" * 16), "test")
    assert broker.config.logger.params_storage.get_logger(context=None).name == klog.KAFKA_LOGGER

"""Every subscriber that each Ferry service really registers when it starts is at-least-once:
an explicit commit after the effect (never FastStream's ACK_FIRST auto-commit), one batch
subscriber per service over the topics it reads, in its own consumer group."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from faststream import AckPolicy
from faststream.kafka.subscriber.usecase import BatchSubscriber
from ferry_kit.broker import AT_LEAST_ONCE
from ferry_kit.infra import free_port

from ferry_cli.services import composition_root

SERVICES = Path(__file__).resolve().parents[3] / "services"

# service -> (the topics it consumes, the batch size its app asks for, or None for the default)
CONSUMING = {
    "gateway": ({"sync.job.changed"}, None),
    "executor": ({"sync.requested", "sync.completed", "connection.changed"}, None),
    "records": ({"records.fetched", "connection.changed"}, "records_max_pages"),
    "scheduler": ({"connection.changed", "sync.job.changed", "sync.completed"}, None),
    "webhooks": ({"sync.completed", "record.changed", "connection.changed"}, None),
}


def test_every_service_that_consumes_is_checked_and_none_subscribes_past_the_kit():
    """A service consumes only through the kit's `Consumer` (`runtime.start_consumer`)."""
    starts, direct = set(), []
    for root in [
        *SERVICES.glob("*/src/ferry_*/app.py"),
        *SERVICES.glob("*/src/ferry_*/bootstrap.py"),
    ]:
        if "start_consumer" in root.read_text():
            starts.add(root.parent.name.removeprefix("ferry_"))
    for source in SERVICES.glob("*/src/ferry_*/**/*.py"):
        if ".subscriber(" in source.read_text():
            direct.append(str(source))
    assert starts == set(CONSUMING) and direct == []


@pytest.mark.parametrize("name", sorted(CONSUMING))
async def test_each_service_registers_only_at_least_once_batch_subscribers(
    infra, service_env, name
):
    app = composition_root(name)  # bootstrap.py in the one shape, app.py before it
    required = {"admin_token": "admin-token-for-tests-0123"} if name == "gateway" else {}
    settings = importlib.import_module(f"ferry_{name}.settings").Settings(
        **{f"{name}_port": free_port()}, **required
    )
    service = await app.start(settings)
    try:
        broker = service.runtime.broker
        topics, batch_setting = CONSUMING[name]
        subs = list(broker.subscribers)
        assert len(subs) == 1, f"{name}: one batch subscriber (each one costs a group join)"
        sub = subs[0]
        assert sub.ack_policy in AT_LEAST_ONCE and sub.ack_policy is not AckPolicy.ACK_FIRST
        assert set(sub.topic_names) == topics
        assert sub._connection_args["enable_auto_commit"] is False
        assert isinstance(sub, BatchSubscriber)
        expected = (
            getattr(settings, batch_setting) if batch_setting else settings.consumer_max_records
        )
        assert sub.max_records == expected
        assert sub.group_id == name
    finally:
        await app.stop(service)

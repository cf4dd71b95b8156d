"""One process platform (every service its own OS process) shared by the end-to-end tests."""

from __future__ import annotations

import pytest
from support.platforms import ProcessPlatform

from ferry_cli.receiver import WebhookReceiver


@pytest.fixture(scope="session")
def platform(infra):
    own = infra.isolated()  # the in-process services of the integration tests must not join its groups
    p = ProcessPlatform(own, FERRY_EXECUTOR_LEASE_SECONDS="3").start()
    try:
        yield p
    finally:
        p.stop()
        own.stop()


@pytest.fixture
async def receiver():
    r = await WebhookReceiver().start()
    yield r
    await r.stop()

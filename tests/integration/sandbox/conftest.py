"""The sandbox app in process (httpx over ASGI), with a clock the tests move by hand."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from ferry_sandbox.app import create_app
from ferry_sandbox.settings import Settings

sys.path.insert(0, str(Path(__file__).parent))  # the test modules import sandbox_harness

from sandbox_harness import ADMIN_TOKEN, HandClock, Harness  # noqa: E402


@pytest.fixture
def settings() -> Settings:
    return Settings(
        admin_token=ADMIN_TOKEN, access_token_ttl_seconds=120, public_url="http://sandbox.test"
    )


@pytest.fixture
async def sbx(settings: Settings) -> AsyncIterator[Harness]:
    clock = HandClock()
    transport = httpx.ASGITransport(app=create_app(settings, clock=clock))
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as client:
        yield Harness(client, clock)

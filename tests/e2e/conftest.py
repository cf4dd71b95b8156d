"""One process platform (every service its own OS process) shared by the end-to-end tests."""

from __future__ import annotations

import shutil

import pytest
from support.acme import DEFINITIONS
from support.platforms import ProcessPlatform

from ferry_cli.receiver import WebhookReceiver


@pytest.fixture(scope="session")
def platform(infra):
    own = (
        infra.isolated()
    )  # the in-process services of the integration tests must not join its groups
    # The loopback test providers' definitions load as a customer's own would.
    p = ProcessPlatform(
        own, FERRY_EXECUTOR_LEASE_SECONDS="3", FERRY_CONNECTORS_PATH=str(DEFINITIONS)
    ).start()
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


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
async def browser():
    """Debian's chromium, headless, driven by Playwright."""
    if CHROMIUM is None:
        pytest.fail(
            "chromium is not installed: ./scripts/test.sh installs it (apt-get install chromium)"
        )
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        await b.close()

"""The connections service in process over the real broker and Postgres, with the real sandbox
provider served over HTTP on its own port (the service and the form browser reach it as a
browser and a backend would)."""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from ferry_kit.infra import free_port

sys.path.insert(0, str(Path(__file__).parent))  # the test modules import connections_harness

from connections_harness import Harness  # noqa: E402
from support.acme import DEFINITIONS, Acme  # noqa: E402


async def _serve(app, port: int) -> tuple[uvicorn.Server, asyncio.Task]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    server.install_signal_handlers = lambda: None
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "the sandbox did not start"
        await asyncio.sleep(0.02)
    return server, task


@pytest.fixture(scope="module")
async def harness(service_env) -> AsyncIterator[Harness]:
    from ferry_connections.bootstrap import start, stop
    from ferry_connections.settings import Settings
    from ferry_sandbox.app import create_app
    from ferry_sandbox.settings import Settings as SandboxSettings

    admin_token = "sbx-" + secrets.token_hex(8)
    sandbox_port, port = free_port(), free_port()
    sandbox_url, url = f"http://127.0.0.1:{sandbox_port}", f"http://127.0.0.1:{port}"
    server, task = await _serve(
        create_app(SandboxSettings(admin_token=admin_token, public_url=sandbox_url)), sandbox_port
    )
    acme = await Acme().serve()
    # The test providers are definitions in a folder of their own, as a customer's would be.
    previous_path = os.environ.get("FERRY_CONNECTORS_PATH")
    os.environ["FERRY_CONNECTORS_PATH"] = str(DEFINITIONS)
    token_keys = "t1:" + base64.b64encode(secrets.token_bytes(32)).decode()
    settings = Settings(
        connections_port=port,
        public_url=url,
        sandbox_url=sandbox_url,
        sandbox_public_url=sandbox_url,
        token_keys=token_keys,
        token_active_key_id="t1",
    )
    try:
        service = await start(settings)
    finally:
        os.environ.pop("FERRY_CONNECTORS_PATH")
        if previous_path is not None:
            os.environ["FERRY_CONNECTORS_PATH"] = previous_path
    h = Harness(
        url,
        sandbox_url,
        service_env["FERRY_INTERNAL_TOKEN"],
        admin_token,
        service_env["FERRY_KAFKA_BOOTSTRAP"],
    )
    h.token_keys = token_keys
    h.acme = acme
    try:
        yield h
    finally:
        await h.close()
        await stop(service)
        server.should_exit = True
        await asyncio.wait_for(task, 5)
        await acme.stop()


@pytest.fixture
async def project(unique: str, harness: Harness) -> str:
    """A project with the sandbox app configured (the OAuth client every project needs)."""
    project = f"prj_{unique}"
    await harness.configure(project)
    return project


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client

"""The replay provider and the style definitions of tests/connectors/definitions, on its port."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from ferry_connectors.transport import provider_http
from support.replay import Replay

DEFINITIONS = Path(__file__).parents[2] / "connectors" / "definitions"


@pytest.fixture(scope="session")
def replay():
    server = Replay().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def style_folder(replay, tmp_path_factory) -> Path:
    """The test definitions as a customer's folder would hold them, pointed at the replay port."""
    folder = tmp_path_factory.mktemp("definitions")
    for file in DEFINITIONS.glob("*.yaml"):
        text = file.read_text().replace("REPLAY_PORT", str(replay.port))
        (folder / file.name).write_text(text)
    return folder


@pytest.fixture(params=["httpx", "provider_http"])
def make_http(request):
    """The two clients a `ConnectorClient` is given: httpx's own (tests, tools) and the
    executor's (`transport.ProviderHttp`, aiohttp on the wire); both must behave alike."""

    def make(timeout: float = 10) -> httpx.AsyncClient:
        if request.param == "httpx":
            return httpx.AsyncClient(timeout=timeout)
        return provider_http(timeout)

    make.kind = request.param  # type: ignore[attr-defined]
    return make

"""Every service of docker-compose.yml starts with exactly the environment compose gives it
(against the test broker and Postgres) and is healthy: the production configuration runs here
even without a Docker engine."""

from __future__ import annotations

import base64
import secrets
import subprocess

import pytest
from ferry_kit.infra import free_port
from support import compose
from support.procs import ServiceProcess

pytestmark = pytest.mark.slow

DOTENV = {  # the secrets compose requires from .env
    "FERRY_INTERNAL_TOKEN": "compose-" + secrets.token_hex(12),
    "FERRY_ADMIN_TOKEN": "admin-" + secrets.token_hex(12),
    "FERRY_TOKEN_KEYS": "k1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
    "FERRY_TOKEN_ACTIVE_KEY_ID": "k1",
    "FERRY_SANDBOX_ADMIN_TOKEN": "sbx-" + secrets.token_hex(12),
}


class Container(ServiceProcess):
    """A process with only the environment given (no inherited FERRY_* of the test run)."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str]) -> None:
        super().__init__(name, {})
        self.env, self.cmd = env, cmd

    def start(self) -> Container:
        self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=self.log_path.open("ab"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        return self


@pytest.fixture
def own(infra):
    isolated = infra.isolated()
    yield isolated
    isolated.stop()


def test_every_compose_service_is_healthy_with_the_compose_environment(own):
    services = compose.services(DOTENV)
    assert {"gateway", "connections", "scheduler", "executor", "records", "webhooks",
            "sandbox", "migrate"} <= services.keys()
    ports = {name: free_port() for name in services if name != "migrate"}

    def container(name: str) -> Container:
        svc = services[name]
        env = compose.pointed(svc["env"], own.bootstrap, own.dsn, ports)
        env = {**compose.base_env(), "FERRY_SERVICE": svc["service"] or name, **env}
        return Container(name, compose.command(svc, ports, name), env).start()

    migrate = container("migrate")
    assert migrate.proc is not None and migrate.proc.wait(120) == 0, migrate.log()
    running = []
    try:
        for name in ports:
            running.append(container(name))
        for proc, name in zip(running, ports, strict=True):
            proc.wait_http(f"http://127.0.0.1:{ports[name]}/healthz", timeout=90)
    finally:
        for proc in running:
            proc.stop()

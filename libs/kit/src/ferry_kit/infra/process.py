"""Child processes of the local infrastructure: free ports, start until ready, stop, run checked."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


class InfraError(RuntimeError):
    """The broker or Postgres could not be brought up; the message says what to do."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def spawn_until(cmd: list[str], log_path: Path, what: str, timeout: float,
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
    halt(process, signal.SIGTERM, 5)
    raise InfraError(f"{what} was not ready in {timeout}s; log: {log_path.read_text()[-2000:]}")


def halt(process: subprocess.Popen[bytes] | None, sig: int, grace: float) -> None:
    if process and process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def run_checked(cmd: list[str], what: str, log: Path | None = None) -> None:
    done = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        tail = log.read_text()[-2000:] if log and log.exists() else ""
        raise InfraError(f"{what} failed ({done.returncode}): {done.stderr[-2000:]}{tail}")


def as_user(cmd: list[str], user: str | None) -> list[str]:
    if user is None:
        return cmd
    return ["runuser", "-u", user, "--", *cmd]

"""`ferry dev`'s worker processes, seen from `ferry dev`: start, ask, stop (see devworker.py)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import os
import signal
import socket
from pathlib import Path
from typing import Any

START_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0


def context() -> Any:
    """Workers fork from a server that imported every service once: they share that memory."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["ferry_cli.devworker"])
    return ctx


async def _gone(pid: int, grace: float = 5.0) -> None:
    """Wait until process `pid` (a worker, exiting) is gone; kill it after `grace` seconds."""
    deadline = asyncio.get_running_loop().time() + grace
    while _alive(pid):
        if asyncio.get_running_loop().time() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            return
        await asyncio.sleep(0.05)


def _alive(pid: int) -> bool:
    """Running (a zombie is gone: with the forkserver stopped, init may never reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return stat.rpartition(")")[2].split()[0] != "Z"


def _worker_main(names: list[str], env: dict[str, str], control: socket.socket) -> None:
    """In the worker: devworker (preloaded there) runs `names`; this process never imports it."""
    from . import devworker

    devworker.main(names, env, control)


class Worker:
    """One worker process running `names`; also the rollover's member for those services."""

    def __init__(self, ctx: Any, names: tuple[str, ...], env: dict[str, str]) -> None:
        self.names = names
        self._sock, child = socket.socketpair()
        self.process = ctx.Process(target=_worker_main, args=(list(names), env, child),
                                   name=f"ferry-dev-{'+'.join(names)}", daemon=True)
        self._child = child
        self._lock = asyncio.Lock()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def start(self) -> None:
        await asyncio.to_thread(self.process.start)
        self._child.close()
        self._reader, self._writer = await asyncio.open_unix_connection(sock=self._sock)
        line = await asyncio.wait_for(self._reader.readline(), START_TIMEOUT)
        reply = json.loads(line) if line else {"error": "the worker exited"}
        if "error" in reply:
            raise RuntimeError(f"ferry dev worker {'+'.join(self.names)}: {reply['error']}")

    async def call(self, op: str, **args: Any) -> dict[str, Any]:
        if self._reader is None or self._writer is None:
            raise RuntimeError("worker not started")
        async with self._lock:
            self._writer.write(json.dumps({"op": op, **args}).encode() + b"\n")
            await self._writer.drain()
            line = await self._reader.readline()
        if not line:
            raise RuntimeError(f"ferry dev worker {'+'.join(self.names)} exited")
        reply: dict[str, Any] = json.loads(line)
        return reply

    async def stop(self) -> None:
        """Ask the worker to stop; wait until its socket ends (it has exited), else kill it.
        (Its exit status goes to the forkserver, which reaps it.)"""
        if self._reader is not None and self._writer is not None:
            try:
                self._writer.write(b'{"op": "stop"}\n')
                await self._writer.drain()
                await asyncio.wait_for(self._reader.read(), STOP_TIMEOUT)
            except (OSError, TimeoutError):
                pass
            self._writer.close()
        if self.process.pid is not None:
            await _gone(self.process.pid)
        self._sock.close()

    # --- the topic rollover's member (rollover.Member) ---------------------------------------

    async def topics(self) -> set[str]:
        return set((await self.call("topics"))["topics"])

    async def drained(self, topic: str) -> int | None:
        messages: int | None = (await self.call("drained", topic=topic))["messages"]
        return messages

    async def pause(self) -> None:
        await self.call("pause")

    async def resume(self) -> None:
        await self.call("resume")

    async def seek(self, topic: str) -> None:
        await self.call("seek", topic=topic)


class InProcess:
    """`FERRY_DEV_PROCESSES=one`: every service in the event loop of `ferry dev` itself (less
    memory; the API waits behind a sync's pages). The rollover's member for all of them."""

    def __init__(self, groups: tuple[tuple[str, ...], ...], partitions: int) -> None:
        self.groups, self.partitions = groups, partitions
        self.names = tuple(name for group in groups for name in group)
        self._started: list[Any] = []
        self._member: Any = None

    async def start(self) -> None:
        from .devworker import Services
        from .rollover import LocalMember

        *behind, last = self.groups
        for names in ([n for group in behind for n in group], list(last)):
            services = Services(names)
            self._started.append(services)
            await services.start()
        runtimes = [rt for services in self._started for rt in services.runtimes()]
        self._member = LocalMember(runtimes, self.partitions)

    async def stop(self) -> None:
        if self._member is not None:
            await self._member.resume()
        for services in reversed(self._started):
            await services.stop()

    def __getattr__(self, name: str) -> Any:  # topics, drained, pause, resume, seek
        return getattr(self._member, name)

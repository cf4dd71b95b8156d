"""One process of `ferry dev`: some of Ferry's services, each with its own event loop's share.

`ferry dev` runs every service in a worker process of its own, so that a busy sync (the
executor and records services) does not hold up the API's event loop. Workers are forked from a
server that imported every service once (`multiprocessing`'s forkserver, preloading this module),
so they share that memory. Each talks to `ferry dev` over a socket, one JSON object a line: it
says `{"ready": true}` once its services are up, then answers the topic rollover's requests
(see rollover.py) until `{"op": "stop"}`, SIGTERM, or the end of the socket (`ferry dev` died).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import json
import os
import signal
import socket
from typing import Any

from ferry_kit import logging as klog
from ferry_kit.eventloop import run_loop
from ferry_kit.memtrim import IdleTrim

from .rollover import LocalMember
from .services import START_ORDER, composition_root, module

# Imported once in the forkserver, shared by every worker: the services, what their start and
# HTTP servers import late, and what the command line (each worker's main module) imports.
for _name in START_ORDER:
    module(_name, "settings")
    composition_root(_name)
for _late in ("anyio._backends._asyncio", "anyio.streams.memory", "anyio.streams.stapled",
              "uvicorn.lifespan.off", "uvicorn.protocols.http.auto",
              "uvicorn.protocols.websockets.auto", "typer", "rich.console", "ferry_cli.workers"):
    importlib.import_module(_late)
gc.freeze()  # what was imported stays shared: the collector never writes to those pages

log = klog.get("ferry.dev.worker")


class Services:
    """The services of one process, started together and stopped in reverse."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.started: list[tuple[str, Any, Any]] = []

    async def start(self) -> None:
        outcomes = await asyncio.gather(*(self._start_one(n) for n in self.names),
                                        return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    async def _start_one(self, name: str) -> None:
        app = composition_root(name)
        handle = await app.start(module(name, "settings").Settings())
        self.started.append((name, app, handle))

    async def stop(self) -> None:
        for name, app, handle in reversed(self.started):
            with contextlib.suppress(Exception):
                await app.stop(handle)
            log.info("service stopped", service=name)

    def runtimes(self) -> list[Any]:
        return [handle.runtime for _, _, handle in self.started]


async def _answer(member: LocalMember, request: dict[str, Any]) -> dict[str, Any]:
    op, topic = request.get("op"), request.get("topic", "")
    if op == "topics":
        return {"topics": sorted(await member.topics())}
    if op == "drained":
        return {"messages": await member.drained(topic)}
    if op == "pause":
        await member.pause()
    elif op == "resume":
        await member.resume()
    elif op == "seek":
        await member.seek(topic)
    else:
        return {"error": f"unknown op {op!r}"}
    return {"ok": True}


async def _converse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    member: LocalMember) -> None:
    """Answer requests until `stop` or the end of the socket."""
    while line := await reader.readline():
        request = json.loads(line)
        if request.get("op") == "stop":
            return
        writer.write(json.dumps(await _answer(member, request)).encode() + b"\n")
        await writer.drain()


async def _serve(names: list[str], control: socket.socket) -> None:
    reader, writer = await asyncio.open_unix_connection(sock=control)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    services = Services(names)
    try:
        await services.start()
    except BaseException as exc:
        writer.write(json.dumps({"error": repr(exc)}).encode() + b"\n")
        await services.stop()
        raise
    member = LocalMember(services.runtimes(), int(os.environ["FERRY_TOPIC_PARTITIONS"]))
    writer.write(b'{"ready": true}\n')
    talk = asyncio.create_task(_converse(reader, writer, member))
    halt = asyncio.create_task(stop.wait())
    trim = IdleTrim()  # what a sync's burst freed goes back to the system once it is over
    trim.start()
    try:
        await asyncio.wait({talk, halt}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        talk.cancel()
        halt.cancel()
        await trim.stop()
        await member.resume()
        await services.stop()
        writer.close()


def main(names: list[str], env: dict[str, str], control: socket.socket) -> None:
    """The worker's entry point (run by multiprocessing in the forked child)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches `ferry dev`, which stops us
    os.environ.update(env)
    klog.configure(env.get("FERRY_LOG_LEVEL", "WARNING"), "console")
    run_loop(_serve(names, control), env.get("FERRY_EVENT_LOOP", "uvloop"))

"""A service run by `run_forever` leaves what it holds once started out of full collections."""

from __future__ import annotations

import asyncio
import gc
import os
import signal

from ferry_kit.runtime import run_forever


async def test_what_a_started_service_holds_is_frozen_before_it_serves():
    held: list[object] = []
    frozen_at_start: list[int] = []
    stopped: list[bool] = []

    async def start() -> object:
        held.extend({"n": i} for i in range(1000))  # what a service keeps: apps, pools, modules
        return object()

    async def stop(_: object) -> None:
        stopped.append(True)

    async def serve_then_stop() -> None:
        await asyncio.sleep(0.05)
        frozen_at_start.append(gc.get_freeze_count())
        os.kill(os.getpid(), signal.SIGTERM)

    gc.unfreeze()
    try:
        await asyncio.gather(run_forever(start, stop), serve_then_stop())
        assert stopped == [True]
        # Everything alive once started is in the permanent generation, held objects included.
        assert frozen_at_start[0] >= len(held)
    finally:
        gc.unfreeze()

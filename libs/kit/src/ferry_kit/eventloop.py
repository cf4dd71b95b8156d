"""The event loop a service process runs on (settings `event_loop`): uvloop unless told otherwise.

Imports nothing heavy: `ferry dev`'s workers call it before they load a service.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


def run_loop(main: Coroutine[Any, Any, None], event_loop: str = "uvloop") -> None:
    """Run a process's main coroutine to its end on uvloop, or on asyncio's own loop."""
    if event_loop == "uvloop":
        import uvloop

        uvloop.run(main)
    else:
        asyncio.run(main)

"""The loop a service runs on: uvloop by default, the standard one when settings ask for it."""

from __future__ import annotations

import asyncio

from ferry_kit.eventloop import run_loop
from ferry_kit.settings import KitSettings


async def _loop_module(seen: list[str]) -> None:
    seen.append(type(asyncio.get_running_loop()).__module__)


def test_a_service_runs_on_uvloop_unless_its_settings_name_the_standard_loop() -> None:
    seen: list[str] = []
    run_loop(_loop_module(seen), KitSettings(internal_token="t" * 16).event_loop)
    run_loop(_loop_module(seen), KitSettings(internal_token="t" * 16,
                                             event_loop="asyncio").event_loop)
    assert seen[0].startswith("uvloop")
    assert seen[1].startswith("asyncio")

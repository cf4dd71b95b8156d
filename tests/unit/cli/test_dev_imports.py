"""`ferry dev`'s own process (the supervisor) loads no service code and no FastStream: its
workers fork from a server that imported those, and the supervisor only starts them."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("faststream", "opentelemetry.sdk", "ferry_kit.runtime", "ferry_kit.broker",
         "ferry_gateway", "ferry_connections", "ferry_scheduler", "ferry_executor",
         "ferry_records", "ferry_webhooks")


def test_the_dev_supervisor_imports_no_service_code() -> None:
    code = ("import sys, ferry_cli.main, ferry_cli.dev, ferry_cli.workers, ferry_cli.rollover\n"
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == ""

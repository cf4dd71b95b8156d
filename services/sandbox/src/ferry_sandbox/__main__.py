"""`python -m ferry_sandbox [--host H] [--port N]`: run the sandbox provider with uvicorn."""

from __future__ import annotations

import argparse
import sys

import uvicorn
from pydantic import ValidationError

from .app import create_app
from .settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ferry_sandbox", description="Ferry's sandbox provider.")
    parser.add_argument("--host", help="interface to listen on (default: FERRY_SANDBOX_HOST)")
    parser.add_argument("--port", type=int, help="port to listen on (default: FERRY_SANDBOX_PORT)")
    args = parser.parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as e:
        missing = ", ".join("FERRY_SANDBOX_" + str(err["loc"][0]).upper() for err in e.errors())
        print(f"ferry_sandbox: invalid or missing settings: {missing}", file=sys.stderr)
        return 2
    updates = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = settings.model_copy(update=updates)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
        timeout_keep_alive=75,  # outlasts clients' idle keep-alive (httpx: 5 s)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

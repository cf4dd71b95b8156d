"""`python -m ferry_records`: run the records service alone."""

import asyncio

from ferry_kit import logging as klog
from ferry_kit.runtime import run_forever

from .app import start, stop
from .settings import Settings


def main() -> None:
    settings = Settings()
    klog.configure(settings.log_level, settings.log_format)
    asyncio.run(run_forever(lambda: start(settings), stop))


if __name__ == "__main__":
    main()

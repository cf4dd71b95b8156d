"""`python -m ferry_scheduler`: run the scheduler alone."""

from ferry_kit.main import run_service

if __name__ == "__main__":
    run_service("scheduler")

"""`python -m ferry_connections`: run the connections service alone."""

from ferry_kit.main import run_service

if __name__ == "__main__":
    run_service("connections")

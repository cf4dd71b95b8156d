"""`python -m ferry_records`: run the records service alone."""

from ferry_kit.main import run_service

if __name__ == "__main__":
    run_service("records")

"""`python -m ferry_executor`: run the executor alone."""

from ferry_kit.main import run_service

if __name__ == "__main__":
    run_service("executor")

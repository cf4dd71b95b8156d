"""`python -m ferry_gateway`: run the gateway alone."""

from ferry_kit.main import run_service

if __name__ == "__main__":
    run_service("gateway")

"""`python -m ferry_webhooks`: run the webhooks service alone."""

from ferry_kit.main import run_service

if __name__ == "__main__":
    run_service("webhooks")

"""Request counters of the sandbox, for tests and benchmarks (`GET /_admin/stats`)."""

from __future__ import annotations

from typing import Any


class Stats:
    """Request counters for tests and benchmarks, in total and per account."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.requests = 0
        self.token_requests = 0
        self.refresh_requests = 0
        self.per_account: dict[str, int] = {}
        self.token_requests_per_account: dict[str, int] = {}
        self.refresh_requests_per_account: dict[str, int] = {}

    def api_request(self, account: str | None) -> None:
        self.requests += 1
        if account is not None:
            self.per_account[account] = self.per_account.get(account, 0) + 1

    def token_request(self, account: str | None, refresh: bool) -> None:
        self.token_requests += 1
        self.refresh_requests += refresh
        if account is not None:
            per = self.token_requests_per_account
            per[account] = per.get(account, 0) + 1
            if refresh:
                per = self.refresh_requests_per_account
                per[account] = per.get(account, 0) + 1

    def report(self, account: str | None = None) -> dict[str, Any]:
        if account is None:
            return {
                "requests": self.requests,
                "token_requests": self.token_requests,
                "refresh_requests": self.refresh_requests,
                "per_account": dict(self.per_account),
            }
        return {
            "requests": self.per_account.get(account, 0),
            "token_requests": self.token_requests_per_account.get(account, 0),
            "refresh_requests": self.refresh_requests_per_account.get(account, 0),
            "per_account": {account: self.per_account.get(account, 0)},
        }

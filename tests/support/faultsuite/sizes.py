"""The fault suite's sizes, from the environment (defaults: the issue's scenario)."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass


def _env(name: str, default: float) -> float:
    return float(os.environ.get(f"FERRY_FAULTS_{name}", default))


@dataclass(frozen=True)
class Sizes:
    records: int  # per connection
    connections: int
    endpoints: int
    repeats: int  # each fault this many times
    endpoint_down_seconds: float
    provider_fault_seconds: float
    change_rounds: int  # rounds of creates/updates/deletes at the provider during the sync
    changes_per_round: int
    seed: int
    kinds: tuple[str, ...]  # which faults (FERRY_FAULTS_KINDS="kill records,broker restart"); all

    @classmethod
    def from_env(cls) -> Sizes:
        seed = os.environ.get("FERRY_FAULTS_SEED")
        return cls(
            # The scenario: 100,000 per connection (~15 min on 2 shared cores, 600k
            # webhook deliveries in 6 ordered lanes).
            records=int(_env("RECORDS", 100_000)),
            connections=int(_env("CONNECTIONS", 2)),
            endpoints=int(_env("ENDPOINTS", 3)),
            repeats=int(_env("REPEATS", 3)),
            endpoint_down_seconds=_env("ENDPOINT_DOWN_SECONDS", 60),
            provider_fault_seconds=_env("PROVIDER_FAULT_SECONDS", 10),
            change_rounds=int(_env("CHANGE_ROUNDS", 6)),
            changes_per_round=int(_env("CHANGES_PER_ROUND", 50)),
            seed=int(seed) if seed else random.SystemRandom().randrange(1_000_000),
            kinds=tuple(k.strip() for k in os.environ.get("FERRY_FAULTS_KINDS", "").split(",")
                        if k.strip()),
        )

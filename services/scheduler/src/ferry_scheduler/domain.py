"""Pure scheduling rules."""

from __future__ import annotations

from ferry_contracts.connections import ModelSyncConfig

MINUTES = {"HOURLY": 60, "DAILY": 24 * 60, "WEEKLY": 7 * 24 * 60, "MONTHLY": 30 * 24 * 60}


def interval_minutes(cfg: ModelSyncConfig) -> int:
    if cfg.frequency == "CUSTOM":
        return max(1, int(cfg.interval_minutes or 60))
    return MINUTES[cfg.frequency]


def syncable(cfg: ModelSyncConfig) -> bool:
    """Only models the connection may read are pulled; WRITE-only and DISABLED are not."""
    return cfg.access in ("READ", "READ_WRITE")


def jitter_seconds(interval_min: int, fraction: float, cap: float) -> float:
    """The upper bound of the random delay added to a run of this interval."""
    return min(cap, interval_min * 60 * fraction)

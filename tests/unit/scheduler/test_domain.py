"""Pure rules of the scheduler."""

from __future__ import annotations

from ferry_contracts import ModelSyncConfig
from ferry_scheduler import domain


def test_frequencies_map_to_their_intervals():
    got = {
        f: domain.interval_minutes(ModelSyncConfig(data_model="X", frequency=f))
        for f in ("HOURLY", "DAILY", "WEEKLY", "MONTHLY")
    }
    assert got == {"HOURLY": 60, "DAILY": 1440, "WEEKLY": 10080, "MONTHLY": 43200}
    assert (
        domain.interval_minutes(
            ModelSyncConfig(data_model="X", frequency="CUSTOM", interval_minutes=15)
        )
        == 15
    )


def test_only_readable_models_are_scheduled():
    assert [
        a
        for a in ("DISABLED", "READ", "WRITE", "READ_WRITE")
        if domain.syncable(ModelSyncConfig(data_model="X", access=a))
    ] == ["READ", "READ_WRITE"]


def test_jitter_is_a_share_of_the_interval_with_a_cap():
    assert domain.jitter_seconds(60, 0.1, 900) == 360
    assert domain.jitter_seconds(1440, 0.1, 900) == 900

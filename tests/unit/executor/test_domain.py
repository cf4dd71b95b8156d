"""Pure rules of the executor."""

from __future__ import annotations

from datetime import UTC, date, datetime

from ferry_executor import domain


def test_an_incremental_run_starts_at_the_high_water_mark_but_never_before_sync_from():
    hwm = datetime(2026, 5, 1, 12, tzinfo=UTC)
    assert domain.window_start(full_sync=False, sync_from=None, high_water_mark=hwm) == hwm
    assert domain.window_start(
        full_sync=False, sync_from=date(2026, 6, 1), high_water_mark=hwm
    ) == datetime(2026, 6, 1, tzinfo=UTC)
    assert (
        domain.window_start(full_sync=False, sync_from=date(2026, 1, 1), high_water_mark=hwm) == hwm
    )


def test_a_full_run_or_a_first_run_starts_at_sync_from_or_the_beginning():
    hwm = datetime(2026, 5, 1, tzinfo=UTC)
    assert domain.window_start(full_sync=True, sync_from=None, high_water_mark=hwm) is None
    assert domain.window_start(
        full_sync=True, sync_from=date(2026, 2, 3), high_water_mark=hwm
    ) == datetime(2026, 2, 3, tzinfo=UTC)
    assert domain.window_start(full_sync=False, sync_from=None, high_water_mark=None) is None


def test_retry_delays_grow_exponentially_and_are_capped_at_an_hour():
    delays = [domain.retry_delay(a, 1.0) for a in range(1, 9)]
    assert delays[:4] == [1.0, 4.0, 16.0, 64.0]
    assert delays == sorted(delays) and max(delays) == 3600.0


def test_job_ids_sort_by_creation():
    ids = [domain.new_job_id() for _ in range(50)]
    assert ids == sorted(ids) and all(i.startswith("job_") for i in ids)


def test_provider_times_parse_with_or_without_a_zone():
    assert domain.parse_time("2026-01-02T03:04:05Z") == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert domain.parse_time("2026-01-02T03:04:05") == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert domain.parse_time("yesterday") is None and domain.parse_time(None) is None


def test_a_page_published_again_after_a_crash_carries_the_same_event_id():
    assert domain.page_event_id("job_1", 7) == domain.page_event_id("job_1", 7)
    assert domain.page_event_id("job_1", 7) != domain.page_event_id("job_1", 8)
    assert domain.page_event_id("job_1", 7) != domain.page_event_id("job_2", 7)

"""All SQL of the records service. Functions take a connection; callers own the transaction."""

from __future__ import annotations

from .connections import (
    connection,
    model_states,
    purge_connection,
    remember_connection,
    set_model_state,
)
from .deletions import (
    count_held_live,
    count_listed_live,
    count_live,
    count_unseen,
    delete_held,
    delete_listed,
    delete_unseen,
    hold_listed,
    hold_unseen,
)
from .feed import page_of_changes
from .ingest import (
    add_counts,
    add_deleted,
    end_job,
    fetched_so_far,
    insert_new,
    job_counts,
    lock_cursor,
    prune_jobs,
    seen_intact,
    take_positions,
    to_write,
    transaction_time,
    upsert_page,
)
from .versions import add_versions, record_with_versions

__all__ = [
    "add_counts",
    "add_deleted",
    "add_versions",
    "connection",
    "count_held_live",
    "count_listed_live",
    "count_live",
    "count_unseen",
    "delete_held",
    "delete_listed",
    "delete_unseen",
    "end_job",
    "fetched_so_far",
    "hold_listed",
    "hold_unseen",
    "insert_new",
    "job_counts",
    "lock_cursor",
    "model_states",
    "page_of_changes",
    "prune_jobs",
    "purge_connection",
    "record_with_versions",
    "remember_connection",
    "seen_intact",
    "set_model_state",
    "take_positions",
    "to_write",
    "transaction_time",
    "upsert_page",
]

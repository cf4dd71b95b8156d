"""`ferry sync CONNECTION_ID [--full] [--watch]`: start a sync, and follow it with progress bars."""

from __future__ import annotations

import time
from typing import Any

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from .operator import call
from .target import Target

DONE = ("complete", "failed", "cancelled")


def start(target: Target, key: str, connection_id: str, full: bool) -> list[dict[str, Any]]:
    return call(target, "POST", f"/v1/connections/{connection_id}/sync", token=key,
                json={"full_sync": full})


def _total(job: dict[str, Any]) -> float | None:
    """The bar's length when the job knows it (a finished job: what it fetched)."""
    return float(max(job["counts"]["fetched"], 1)) if job["status"] in DONE else None


def watch(target: Target, key: str, jobs: list[dict[str, Any]], every: float = 0.5) -> list[dict]:
    """One bar per model until every job has ended; returns the jobs as they ended."""
    columns = (TextColumn("{task.fields[model]:<12}"), BarColumn(),
               TextColumn("{task.completed:>8.0f} fetched"), TextColumn("{task.fields[status]}"),
               TimeElapsedColumn())
    with Progress(*columns) as progress:
        tasks = {j["id"]: progress.add_task("", total=None, model=j["data_model"],
                                            status=j["status"]) for j in jobs}
        latest = {j["id"]: j for j in jobs}
        while any(j["status"] not in DONE for j in latest.values()):
            time.sleep(every)
            for job_id, task in tasks.items():
                job = latest[job_id] = call(target, "GET", f"/v1/syncs/{job_id}", token=key)
                progress.update(task, completed=job["counts"]["fetched"], total=_total(job),
                                status=job["status"])
    return list(latest.values())

"""The Sync tab (seed 000): each data model's frequency and access level."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from ferry_contracts import values

from .web import Action, ApiRefused, Console, Page, back

router = APIRouter()

FREQUENCIES = values.FREQUENCIES
ACCESS = values.ACCESS_LEVELS
_RANK = {"DISABLED": 0, "READ": 1, "WRITE": 1, "READ_WRITE": 2}


async def _connected(console: Console) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = None
    for _ in range(20):  # at most 4,000 connections are counted
        page = await console.api("GET", "/v1/connections", params={
            "status": "CONNECTED", "limit": 200, "cursor": cursor})
        out += page["data"]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    return out


def _models(providers: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every data model a provider offers: its scopes per access and the tightest minimum."""
    models: dict[str, dict[str, Any]] = {}
    for p in providers:
        for m in p["data_models"]:
            entry = models.setdefault(m["name"], {"providers": [], "scopes": set(),
                                                  "min_interval": 0})
            entry["providers"].append(p["display_name"])
            entry["scopes"] |= {s for ss in m["scopes"].values() for s in ss}
            entry["min_interval"] = max(entry["min_interval"], p["min_sync_interval_minutes"])
    return models


def _needs_reauth(model: str, scopes: set[str], connections: list[dict[str, Any]]) -> int:
    """Connections that hold none of the model's write scopes: raising access needs their
    users to re-authorise."""
    write = {s for s in scopes if s.endswith(".write")}
    return sum(1 for c in connections if write and not write & set(c.get("granted_scopes") or []))


async def _view(console: Console, notice: str | None = None, status: int = 200,
                raised: list[str] | None = None) -> Response:
    config = await console.api("GET", "/v1/sync-config")
    models = _models(await console.api("GET", "/v1/providers"))
    connections = await _connected(console)
    current = {m["data_model"]: m for m in config["data_models"]}
    unset = {"frequency": "DAILY", "access": "DISABLED"}
    rows = [{"name": name, **info, **current.get(name, unset),
             "reauth": _needs_reauth(name, info["scopes"], connections)}
            for name, info in sorted(models.items())]
    return console.page("sync.html", status=status, rows=rows, frequencies=FREQUENCIES,
                        access_levels=ACCESS, notice=notice, connected=len(connections),
                        raised=[r for r in rows if r["name"] in (raised or [])])


@router.get("/console/sync")
async def sync_page(console: Page, raised: str = "", saved: str = "") -> Response:
    return await _view(console, "Saved." if saved else None, raised=raised.split(","))


@router.post("/console/sync")
async def save_sync(console: Action) -> Response:
    form = await console.request.form()
    config = await console.api("GET", "/v1/sync-config")
    before = {m["data_model"]: m["access"] for m in config["data_models"]}
    edited = []
    for name in form.getlist("data_model"):
        entry = {"data_model": name, "frequency": form.get(f"frequency.{name}", "DAILY"),
                 "access": form.get(f"access.{name}", "DISABLED")}
        minutes = str(form.get(f"interval.{name}", "")).strip()
        if entry["frequency"] == "CUSTOM" and minutes.isdigit():
            entry["interval_minutes"] = int(minutes)
        edited.append(entry)
    keep = ("full_sync_interval_hours", "record_events_on_initial_sync", "allowed_return_origins")
    body = {**{k: config[k] for k in keep if k in config}, "data_models": edited}
    try:
        await console.api("PUT", "/v1/sync-config", json=body)
    except ApiRefused as refused:
        return await _view(console, refused.error.get("message"), refused.status)
    raised = [m["data_model"] for m in edited
              if _RANK[m["access"]] > _RANK[before.get(m["data_model"], "DISABLED")]
              and m["access"] != "READ"]
    if raised:
        return back("/console/sync?raised=" + ",".join(raised))
    return back("/console/sync?saved=1")

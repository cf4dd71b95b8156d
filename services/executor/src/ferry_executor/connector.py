"""The executor's view of a connector: a client per connection, and what a page's state means."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import httpx
from ferry_connectors import ConnectorClient, Definition, Page, hook_of
from ferry_connectors.definition import EndpointDeletion, Model

from .provider import Credentials


def client_for(
    definition: Definition, creds: Credentials, http: httpx.AsyncClient
) -> ConnectorClient:
    return ConnectorClient(definition, http, base_url=creds.base_url, headers=creds.headers,
                           params=creds.params, connection_config=creds.connection_config,
                           hook=hook_of(definition))


def paging_state(state: dict[str, Any]) -> dict[str, Any] | None:
    """The position of the next page in a job's checkpoint (older checkpoints kept `cursor`)."""
    if "paging" in state:
        return state["paging"]
    return {"cursor": state["cursor"]} if state.get("cursor") else None


def time_path(model: Model) -> str | None:
    """Where a record's high-water time is: the incremental's declared path, else updated_at."""
    return (model.incremental.high_water_path if model.incremental else None) or model.updated_at


async def fetch_page(
    client: ConnectorClient, name: str, model: Model, position: dict[str, Any] | None,
    since: datetime | None,
) -> Page:
    """One page; after the last page of an incremental run, the "deleted since" endpoint too."""
    page = await client.fetch_page(name, position, since=since)
    deletions = isinstance(model.deletion, EndpointDeletion)
    if page.next_state is None and since is not None and deletions:
        gone = await client.fetch_deleted(name, since)
        page = replace(page, deleted_ids=[*page.deleted_ids, *gone])
    return page

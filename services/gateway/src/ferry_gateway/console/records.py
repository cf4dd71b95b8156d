"""The records browser: cursor pages per model, one record's JSON, versions and diffs."""

from __future__ import annotations

import json

from fastapi import APIRouter
from fastapi.responses import Response

from ..routes.params import ConnectionId, DataModel, RecordId
from .web import Page

router = APIRouter()


@router.get("/console/connections/{connection_id}/records/{data_model}")
async def records_page(console: Page, connection_id: ConnectionId, data_model: DataModel,
                       cursor: str = "") -> Response:
    page = await console.api("GET", f"/v1/connections/{connection_id}/records/{data_model}",
                             params={"cursor": cursor, "limit": 50})
    return console.page("records.html", c={"id": connection_id}, model=data_model.upper(),
                        page=page, cursor=cursor)


@router.get("/console/connections/{connection_id}/records/{data_model}/{record_id}")
async def record_page(console: Page, connection_id: ConnectionId, data_model: DataModel,
                      record_id: RecordId) -> Response:
    record = await console.api(
        "GET", f"/v1/connections/{connection_id}/records/{data_model}/{record_id}")
    return console.page("record.html", c={"id": connection_id}, model=data_model.upper(),
                        record=record, pretty=json.dumps(record["data"], indent=2, sort_keys=True))

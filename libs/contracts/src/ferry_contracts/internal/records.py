"""The records service's internal API: record pages, one record, held deletions."""

from __future__ import annotations

from .base import Params, Reply, Transport, path


class RecordsClient:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def _records(self, connection_id: str, data_model: str, *rest: str) -> str:
        return path("internal", "connections", connection_id, "records", data_model.upper(), *rest)

    async def page(self, connection_id: str, data_model: str, params: Params) -> Reply:
        return await self._t.send("GET", self._records(connection_id, data_model), params=params)

    async def record(self, connection_id: str, data_model: str, record_id: str) -> Reply:
        return await self._t.send("GET", self._records(connection_id, data_model, record_id))

    async def confirm_deletions(self, connection_id: str, data_model: str) -> Reply:
        where = self._records(connection_id, data_model, "deletions", "confirm")
        return await self._t.send("POST", where)

"""Write-back: create or update a record at the provider, then store it as the new version.

The call spends the connection's request budget like a sync page does; the provider's answer
goes to the records service as a one-record page, so change detection and webhooks see it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from ferry_connectors import AuthExpired, ConnectorError, Definition, get_definition
from ferry_connectors.client import record_id as id_of
from ferry_contracts.records import RecordsFetched, RecordsPage
from ferry_kit.errors import ApiError
from ferry_kit.uow import UnitOfWorkFactory

from .connector import client_for
from .provider import Budget, Credentials, CredentialsClient, CredentialsError
from .repository import Repository


class WriteBackError(ApiError):
    def __init__(
        self, status: int, code: str, message: str, retry_after: float | None = None
    ) -> None:
        wait = {"retry-after": str(max(1, int(retry_after)))} if retry_after is not None else None
        super().__init__(status, code, message, headers=wait)


@dataclass(frozen=True)
class RecordWrite:
    """Create (no `record_id`) or update one record of a connection at its provider."""

    connection_id: str
    project_id: str | None
    data_model: str
    data: dict[str, Any]
    record_id: str | None = None


class WriteBack:
    def __init__(self, uow: UnitOfWorkFactory[Repository], credentials: CredentialsClient,
                 budget: Budget, http: httpx.AsyncClient) -> None:
        self.uow, self.credentials, self.budget, self.http = uow, credentials, budget, http

    async def __call__(self, w: RecordWrite) -> dict[str, Any]:
        """The provider's record, also stored as its newest version (a one-record page)."""
        name = w.data_model.upper()
        try:
            creds = await self.credentials.get(w.connection_id)
        except CredentialsError as e:
            status = 503 if e.retryable else 409
            raise WriteBackError(status, "connection_unavailable", e.message) from e
        definition = get_definition(creds.provider_name)
        model = definition.models.get(name) if definition else None
        if definition is None or model is None:
            raise WriteBackError(404, "not_found", f"unknown data model {name}")
        op = model.write and (model.write.create if w.record_id is None else model.write.update)
        if not op:
            raise WriteBackError(422, "validation_error", f"{name} does not support write-back")
        record = await self._send(w, name, definition, creds)
        rid = id_of(model, record)
        page = RecordsFetched(item=RecordsPage(
            job_id=f"writeback_{w.connection_id}", data_model=name, page=0, records=[record],
            ids=[rid] if rid else None))
        async with self.uow() as uow:
            uow.emit(page, project_id=w.project_id, connection_id=w.connection_id)
            await uow.commit()
        return {"id": rid or str(record.get("id")), "data": record}

    async def _send(
        self, w: RecordWrite, name: str, definition: Definition, creds: Credentials
    ) -> dict[str, Any]:
        """Call the provider within the connection's budget; a refused token is refreshed once."""
        for attempt in (1, 2):
            client = client_for(definition, creds, self.http)
            await self.budget.acquire(w.connection_id, definition.rate_limit)
            try:
                if w.record_id is None:
                    return await client.create_record(name, w.data)
                return await client.update_record(name, w.record_id, w.data)
            except AuthExpired as e:
                if attempt == 2 or creds.access_token is None:
                    raise WriteBackError(409, "auth_error", e.message) from e
                creds = await self.credentials.get(w.connection_id, rejected=creds.access_token)
            except ConnectorError as e:
                raise await self._refused(w, name, e) from e
        raise AssertionError("unreachable: the second attempt returns or raises")

    async def _refused(self, w: RecordWrite, name: str, e: ConnectorError) -> WriteBackError:
        retry_after = getattr(e, "retry_after", None)
        if retry_after is not None:
            await self.budget.slow_down(w.connection_id, retry_after)
            return WriteBackError(429, "rate_limited", e.message, retry_after)
        if e.status == 404:
            return WriteBackError(404, "not_found",
                                  f"the provider has no {name} record {w.record_id}")
        if e.status in (400, 422):
            return WriteBackError(422, "validation_error", e.message)
        if e.status == 403:
            return WriteBackError(403, "access_denied", e.message)
        return WriteBackError(502, "provider_error", e.message)

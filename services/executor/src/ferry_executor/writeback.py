"""Write-back: create or update a record at the provider, then store it as the new version.

The call spends the connection's request budget like a sync page does; the provider's answer
goes to the records service as a one-record page, so change detection and webhooks see it.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
from ferry_connectors import AuthExpired, ConnectorError, get_definition
from ferry_connectors.client import record_id as id_of
from ferry_contracts import Envelope
from ferry_contracts.records import RecordsFetched, RecordsPage
from ferry_kit import outbox

from .connector import client_for
from .provider import Budget, CredentialsClient, CredentialsError


class WriteBackError(Exception):
    def __init__(self, status: int, code: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after


class WriteBack:
    def __init__(self, pool: asyncpg.Pool, credentials: CredentialsClient, budget: Budget, http: httpx.AsyncClient) -> None:
        self.pool, self.credentials, self.budget, self.http = pool, credentials, budget, http

    async def write(self, connection_id: str, project_id: str | None, data_model: str,
                    data: dict[str, Any], record_id: str | None = None) -> dict[str, Any]:
        try:
            creds = await self.credentials.get(connection_id)
        except CredentialsError as e:
            raise WriteBackError(503 if e.retryable else 409, "connection_unavailable", e.message) from e
        definition = get_definition(creds.provider_name)
        model = definition.models.get(data_model.upper()) if definition else None
        if definition is None or model is None:
            raise WriteBackError(404, "not_found", f"unknown data model {data_model}")
        op = model.write and (model.write.create if record_id is None else model.write.update)
        if not op:
            raise WriteBackError(422, "validation_error", f"{data_model} does not support write-back")
        for attempt in (1, 2):
            client = client_for(definition, creds, self.http)
            await self.budget.acquire(connection_id, definition.rate_limit)
            try:
                if record_id is None:
                    record = await client.create_record(data_model, data)
                else:
                    record = await client.update_record(data_model, record_id, data)
                break
            except AuthExpired as e:
                if attempt == 2 or creds.access_token is None:
                    raise WriteBackError(409, "auth_error", e.message) from e
                creds = await self.credentials.get(connection_id, rejected=creds.access_token)
            except ConnectorError as e:
                retry_after = getattr(e, "retry_after", None)
                if retry_after is not None:
                    await self.budget.slow_down(connection_id, retry_after)
                    raise WriteBackError(429, "rate_limited", e.message, retry_after) from e
                if e.status == 404:
                    raise WriteBackError(404, "not_found", f"the provider has no {data_model} record {record_id}") from e
                if e.status in (400, 422):
                    raise WriteBackError(422, "validation_error", e.message) from e
                if e.status == 403:
                    raise WriteBackError(403, "access_denied", e.message) from e
                raise WriteBackError(502, "provider_error", e.message) from e
        rid = id_of(model, record)
        page = RecordsFetched(item=RecordsPage(job_id=f"writeback_{connection_id}", data_model=data_model.upper(),
                                                page=0, records=[record], ids=[rid] if rid else None))
        async with self.pool.acquire() as conn, conn.transaction():
            await outbox.add(conn, [Envelope.of(page, project_id=project_id, connection_id=connection_id)])
        return {"id": rid or str(record.get("id")), "data": record}

"""Write-back: create or update a record at the provider, then store it as the new version.

The call spends the connection's request budget like a sync page does; the provider's answer
goes to the records service as a one-record page, so change detection and webhooks see it.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
from ferry_connectors import AuthExpired, ConnectorClient, ConnectorError, get_provider
from ferry_contracts import Envelope
from ferry_contracts.records import RecordsFetched, RecordsPage
from ferry_kit import outbox

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
        provider = get_provider(creds.provider_name)
        if provider is None or provider.model(data_model) is None:
            raise WriteBackError(404, "not_found", f"unknown data model {data_model}")
        if not provider.model(data_model).supports_write:  # type: ignore[union-attr]
            raise WriteBackError(422, "validation_error", f"{data_model} does not support write-back")
        for attempt in (1, 2):
            client = ConnectorClient(provider, creds.base_url, creds.access_token, self.http)
            await self.budget.acquire(connection_id)
            try:
                if record_id is None:
                    record = await client.create_record(data_model, data)
                else:
                    record = await client.update_record(data_model, record_id, data)
                break
            except AuthExpired as e:
                if attempt == 2:
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
        page = RecordsFetched(item=RecordsPage(job_id=f"writeback_{connection_id}", data_model=data_model.upper(),
                                                page=0, records=[record]))
        async with self.pool.acquire() as conn, conn.transaction():
            await outbox.add(conn, [Envelope.of(page, project_id=project_id, connection_id=connection_id)])
        return {"id": str(record.get("id")), "data": record}

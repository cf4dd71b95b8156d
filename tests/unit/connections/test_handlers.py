"""The connections service's handlers and views on a fake unit of work: no database, no
broker, no provider."""

from __future__ import annotations

import base64
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
from ferry_connections import connect, handlers, views
from ferry_connections.catalogue import Catalogue
from ferry_connections.credentials import credentials
from ferry_connections.crypto import Cipher
from ferry_connections.domain import LinkInvalid, ModelConfig, NewIntegration
from ferry_connections.inputs import ConnectionIn, ConnectionPatch, ProjectSyncConfigIn
from ferry_connections.links import Links
from ferry_connections.settings import Settings
from ferry_contracts import ConnectionChanged
from ferry_kit.clock import FixedClock
from ferry_kit.errors import Conflict, NotFound
from ferry_kit.fake_uow import FakeUnitOfWork

from .fakes import FakeRepository

CATALOGUE = Catalogue.load()
KEYS = "k1:" + base64.b64encode(b"k" * 32).decode()


class Service:
    """The handlers wired as bootstrap wires them, on fakes."""

    def __init__(self) -> None:
        self.repo = FakeRepository()
        self.uow = FakeUnitOfWork(self.repo)
        self.clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
        self.settings = Settings(internal_token="t" * 16, token_keys=KEYS,
                                 token_active_key_id="k1", public_url="https://ferry.example")
        cipher = Cipher.from_settings(KEYS, "k1")
        self.links = Links(cipher, self.settings)
        self.context = views.Context(CATALOGUE, self.links, self.clock, self.settings)
        self.run = handlers.Commands(self.uow, {
            "clock": self.clock, "settings": self.settings, "catalogue": CATALOGUE,
            "cipher": cipher, "links": self.links, "http": None, "context": self.context})

    @asynccontextmanager
    async def read(self):  # the views' reader
        yield self.repo

    async def create(self, provider: str = "sandbox_noauth", user: str = "u1",
                     **body: object) -> dict:
        asked = ConnectionIn(provider_name=provider,
                             requested_data_types=["CONTACTS", "INVOICES"], **body)
        return await self.run(handlers.create_connection, project_id="p1", user_id=user,
                              body=asked)

    def events(self) -> list[ConnectionChanged]:
        return self.uow.payloads


@pytest.fixture
def service() -> Service:
    return Service()


async def test_a_connection_needing_no_authorization_is_connected_at_once_with_its_initial_jobs(
        service):
    made = await service.create()
    assert made["status"] == "CONNECTED" and len(made["initial_sync_jobs"]) == 2
    [created] = service.events()
    assert (created.status, created.reason, created.version) == ("CONNECTED", "created", 1)
    assert created.initial_batch_id is not None
    assert [m.data_model for m in created.sync_config] == ["CONTACTS", "INVOICES"]
    assert service.uow.committed[0].connection_id == made["id"]
    assert made["redirect_url"].startswith(f"https://ferry.example/connect/{made['id']}?t=")


async def test_an_oauth_connection_needs_the_projects_app_then_waits_for_the_end_user(service):
    with pytest.raises(Conflict) as e:
        await service.create("sandbox")
    assert e.value.code == "integration_not_configured"
    assert service.events() == [] and service.uow.rollbacks == 1
    await service.repo.put_integration(_app())
    made = await service.create("sandbox")
    assert made["status"] == "AUTH_REQUIRED" and made["initial_sync_jobs"] == []
    assert [(e.status, e.initial_batch_id) for e in service.events()] == [("AUTH_REQUIRED", None)]


async def test_a_unique_provider_refuses_a_second_connection_of_the_same_user(service):
    await service.create()
    with pytest.raises(Conflict) as e:
        await service.create()
    assert e.value.code == "unique_provider"
    assert len(service.events()) == 1
    await service.create(user="u2")


async def test_disconnecting_drops_the_credentials_and_tells_every_service(service):
    made = await service.create()
    await service.repo.put_given_secret(made["id"], b"sealed")
    patched = await service.run(handlers.patch_connection, project_id="p1",
                                connection_id=made["id"],
                                body=ConnectionPatch(status="DISCONNECTED"))
    assert patched["status"] == "DISCONNECTED" and patched["disconnected_at"] is not None
    changed = service.events()[-1]
    assert (changed.status, changed.previous_status, changed.reason, changed.version) == (
        "DISCONNECTED", "CONNECTED", "status_changed", 2)
    assert await service.repo.given_secret(made["id"]) is None


async def test_a_refused_transition_changes_nothing_and_emits_nothing(service):
    made = await service.create()
    with pytest.raises(Conflict) as e:
        await service.run(handlers.patch_connection, project_id="p1", connection_id=made["id"],
                          body=ConnectionPatch(status="AUTH_REQUIRED"))
    assert e.value.code == "invalid_transition"
    assert len(service.events()) == 1 and service.repo.connections[made["id"]].version == 1


async def test_a_patch_without_changes_emits_nothing(service):
    made = await service.create()
    same = await service.run(handlers.patch_connection, project_id="p1",
                             connection_id=made["id"], body=ConnectionPatch())
    assert same["status"] == "CONNECTED" and len(service.events()) == 1


async def test_a_project_config_change_moves_only_the_connections_that_follow_it(service):
    follower = await service.create()
    own = await service.create(user="u2", sync_config={"data_models": [
        {"data_model": "CONTACTS", "frequency": "HOURLY"}]})
    body = ProjectSyncConfigIn(data_models=[{"data_model": "contacts", "frequency": "WEEKLY"}])
    out = await service.run(handlers.put_project_config, project_id="p1", body=body)
    assert out["connections_updated"] == 1 and out["is_default"] is False
    changed = service.events()[-1]
    assert (changed.connection_id, changed.reason) == (follower["id"], "sync_config_changed")
    assert {m.data_model: m.frequency for m in changed.sync_config} == {
        "CONTACTS": "WEEKLY", "INVOICES": "DAILY"}
    assert all(e.connection_id != own["id"] for e in service.events()[2:])
    assert (await views.project_config(service.read, "p1"))["data_models"] == [
        ModelConfig("CONTACTS", "WEEKLY").to_json(with_sync_from=False)]


async def test_deleting_a_connection_emits_its_last_version_as_deleted(service):
    made = await service.create()
    await service.run(handlers.delete_connection, project_id="p1", connection_id=made["id"])
    deleted = service.events()[-1]
    assert (deleted.status, deleted.version, deleted.previous_status) == ("DELETED", 2,
                                                                          "CONNECTED")
    with pytest.raises(NotFound):
        await views.connection(service.read, service.context, "p1", made["id"])
    with pytest.raises(NotFound):
        await service.run(handlers.delete_connection, project_id="p1", connection_id=made["id"])


async def test_cancelling_a_connect_in_progress_goes_back_to_auth_required(service):
    await service.repo.put_integration(_app())
    made = await service.create("sandbox", return_url="https://app.example/done")
    token = made["redirect_url"].split("t=")[1]
    started = await service.run(connect.start_connect, connection_id=made["id"], token=token,
                                typed={})
    assert started.status == "pending" and started.url and started.cookie
    assert service.events()[-1].status == "CONNECTING" and len(service.repo.sessions) == 1
    cancelled = await service.run(connect.cancel_connect, connection_id=made["id"], token=token)
    assert cancelled.url == f"https://app.example/done?status=abort&connection_id={made['id']}"
    assert [(e.status, e.reason) for e in service.events()[-1:]] == [("AUTH_REQUIRED",
                                                                      "cancelled")]
    assert service.repo.sessions == {}


async def test_an_expired_connect_link_is_refused(service):
    made = await service.create()
    token = made["redirect_url"].split("t=")[1]
    service.clock.advance(days=8)
    with pytest.raises(LinkInvalid) as e:
        await views.connect_page(service.read, service.context, made["id"], token)
    assert e.value.status == 410


async def test_credentials_of_a_connection_without_authorization_carry_its_static_header(
        service):
    made = await service.create()
    out = await service.run(credentials, connection_id=made["id"], force=False, rejected=None)
    assert out["headers"] == {"Authorization": f"Bearer static:{made['id']}"}
    assert out["access_token"] == f"static:{made['id']}"
    await service.run(handlers.patch_connection, project_id="p1", connection_id=made["id"],
                      body=ConnectionPatch(status="DISCONNECTED"))
    with pytest.raises(Conflict) as e:
        await service.run(credentials, connection_id=made["id"], force=False, rejected=None)
    assert e.value.code == "not_connected"


def _app() -> NewIntegration:
    return NewIntegration("p1", "sandbox", "client", None, [], None, None)

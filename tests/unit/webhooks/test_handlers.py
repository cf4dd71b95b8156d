"""The webhooks service's handlers and views on a fake unit of work: no broker, no database."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import orjson
import pytest
from ferry_contracts import ConnectionChanged, Envelope, RecordChanged, SyncCompleted
from ferry_kit import errors
from ferry_kit.broker import Gated
from ferry_kit.dispatch import RequestRunner, consumer_handlers
from ferry_kit.fake_uow import FakeUnitOfWork
from ferry_webhooks import handlers, views
from ferry_webhooks.handlers import HANDLERS
from ferry_webhooks.settings import Settings

from .fakes import FakeRepository


class Users:
    """The connections service as the handlers see it: a user per connection, calls counted."""

    def __init__(self, known: dict[str, str]) -> None:
        self.known = known
        self.calls: list[str] = []

    async def __call__(self, project_id: str, connection_id: str) -> str | None:
        self.calls.append(connection_id)
        return self.known.get(connection_id)


async def public_dns(host: str, port: int) -> list[str]:
    return {"hooks.example": ["93.184.216.34"], "inside.example": ["10.0.0.7"]}[host]


class Webhooks:
    """The handlers wired as the kit wires them, on fakes."""

    def __init__(self) -> None:
        self.repo = FakeRepository()
        self.uow = FakeUnitOfWork(self.repo)
        self.users = Users({"c_new": "u-from-owner"})
        deps = {"users": self.users, "settings": Settings(internal_token="t" * 16),
                "resolve": public_dns}
        self.handle = consumer_handlers(HANDLERS, self.uow, deps)
        self.run = RequestRunner(self.uow, deps)

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[FakeRepository]:
        yield self.repo

    async def endpoint(self, project: str = "p1", types: list[str] | None = None,
                       ordered: bool = True) -> str:
        cmd = handlers.CreateEndpoint(project, "https://hooks.example/in", types, None, ordered)
        return (await self.run(handlers.create_endpoint, cmd)).id

    async def connection(self, status: str, version: int, previous: str | None = None,
                         project: str | None = "p1") -> Envelope[ConnectionChanged]:
        event = Envelope.of(ConnectionChanged(
            connection_id="c1", user_id="u-42", provider_name="sandbox", status=status,
            previous_status=previous, version=version), project_id=project, connection_id="c1")
        await self.handle["connection.changed"]([event])
        return event

    def sent(self) -> list[tuple[str, str, dict]]:
        """(endpoint, type, data) of every message, oldest first."""
        stored = sorted(self.repo.messages_by_id.values(), key=lambda s: s.seq)
        return [(s.message.endpoint_id, s.message.event_type, orjson.loads(s.message.body)["data"])
                for s in stored]


def sync(status: str = "complete", project: str = "p1", cid: str = "c1") -> Envelope[SyncCompleted]:
    return Envelope.of(SyncCompleted(job_id="j1", connection_id=cid, provider_name="sandbox",
                                     data_model="CONTACTS", status=status, error="boom"),
                       project_id=project, connection_id=cid)


def record(i: int, cid: str = "c1", project: str = "p1") -> Envelope[RecordChanged]:
    return Envelope.of(RecordChanged(data_model="CONTACTS", record_id=f"r{i}", action="created",
                                     cursor=f"{i:04d}", modified_at=datetime.now(UTC),
                                     data={"i": i}), project_id=project, connection_id=cid)


@pytest.fixture
def wh() -> Webhooks:
    return Webhooks()


async def test_a_sync_completion_goes_to_each_endpoint_of_its_project_that_takes_it(wh):
    everything, only_failures = await wh.endpoint(), await wh.endpoint(types=["sync_failed"])
    await wh.endpoint(project="p2")
    await wh.connection("CONNECTED", 1, "CONNECTING")
    await wh.handle["sync.completed"]([sync(), sync("failed")])
    sent = [(ep, kind) for ep, kind, _ in wh.sent() if kind.startswith("sync")]
    assert sent == [(everything, "sync_completed"), (everything, "sync_failed"),
                    (only_failures, "sync_failed")]
    assert wh.sent()[-1][2]["user_id"] == "u-42" and wh.sent()[-1][2]["error"] == "boom"
    assert wh.users.calls == [], "the projection knew the connection's user"


async def test_an_event_redelivered_makes_no_second_message(wh):
    await wh.endpoint()
    event = sync()
    await wh.handle["sync.completed"]([event, event])
    await wh.handle["sync.completed"]([event])
    assert len(wh.sent()) == 1 and wh.uow.commits == 3


async def test_a_connection_not_projected_yet_gets_its_user_from_its_owner_once_per_batch(wh):
    await wh.endpoint()
    await wh.handle["record.changed"]([record(1, "c_new"), record(2, "c_new")])
    assert [d["user_id"] for _, _, d in wh.sent()] == ["u-from-owner", "u-from-owner"]
    assert wh.users.calls == ["c_new"]


async def test_projects_without_endpoints_cost_no_lookup_and_no_message(wh):
    await wh.handle["record.changed"]([record(1, "c_new", project="p_none")])
    assert wh.sent() == [] and wh.users.calls == []


async def test_record_events_are_wanted_only_of_projects_with_an_enabled_endpoint_taking_them(wh):
    await wh.endpoint(project="p_all")
    await wh.endpoint(project="p_deleted", types=["record_deleted"])
    await wh.endpoint(project="p_sync", types=["sync_completed", "connection_status_changed"])
    off = await wh.endpoint(project="p_off")
    await wh.run(handlers.set_enabled, handlers.SetEnabled("p_off", off, False))
    gate = wh.handle["record.changed"]
    assert isinstance(gate, Gated)
    asked = ["p_all", "p_deleted", "p_sync", "p_off", "p_none", None]
    assert set(await gate.projects(asked)) == {"p_all", "p_deleted"}
    assert await gate.projects([None]) == set()
    assert wh.uow.rollbacks == 2 and wh.uow.commits == 5, "a read: nothing is committed"


async def test_an_ordered_endpoint_delivers_one_message_of_a_connection_at_a_time(wh):
    await wh.endpoint()
    await wh.endpoint(ordered=False)
    await wh.handle["record.changed"]([record(1), record(2)])
    ready = [ready for _, ready in wh.repo.ready_lanes()]
    assert ready == [True, True, False, True], "ordered: the head only; unordered: all"


async def test_a_status_change_is_announced_once_and_a_late_older_update_changes_nothing(wh):
    await wh.endpoint()
    await wh.connection("CONNECTED", 2, "CONNECTING")
    await wh.connection("CONNECTED", 3, "CONNECTED")
    await wh.connection("AUTH_ERROR", 1, "CONNECTED")  # older than what is known
    [(_, kind, data)] = wh.sent()
    assert kind == "connection_status_changed"
    assert data == {"connection_id": "c1", "user_id": "u-42", "provider_name": "sandbox",
                    "status": "CONNECTED", "previous_status": "CONNECTING"}
    assert wh.repo.connections["c1"].version == 3


async def test_a_deleted_connection_leaves_the_projection_without_a_webhook(wh):
    await wh.endpoint()
    await wh.connection("CONNECTED", 1, "CONNECTED")
    await wh.connection("DELETED", 2, "CONNECTED")
    assert wh.repo.connections == {} and wh.sent() == []


async def test_an_unknown_event_type_is_refused_naming_its_position(wh):
    cmd = handlers.CreateEndpoint("p1", "https://hooks.example/in", ["sync_failed", "nope"],
                                  None, True)
    with pytest.raises(errors.Invalid) as refused:
        await wh.run(handlers.create_endpoint, cmd)
    body = errors.body(refused.value.code, refused.value.message, refused.value.details)
    message = refused.value.message
    assert message.startswith("unknown event type 'nope'; one of sync_completed")
    assert body == {"error": {"code": "validation_error", "message": message,
                              "details": [{"field": "event_types[1]", "message": message}]}}
    assert wh.repo.endpoints_by_id == {} and wh.uow.rollbacks == 1


async def test_a_private_url_is_refused_on_the_url_field(wh):
    cmd = handlers.CreateEndpoint("p1", "https://inside.example/in", None, None, True)
    with pytest.raises(errors.Invalid) as refused:
        await wh.run(handlers.create_endpoint, cmd)
    [detail] = refused.value.details
    assert detail["field"] == "url" and detail["message"].startswith("URL refused: ")
    assert "10.0.0.7" in detail["message"]


async def test_a_new_endpoint_gets_a_secret_and_its_event_types_once_each(wh):
    cmd = handlers.CreateEndpoint("p1", "https://hooks.example/in",
                                  ["sync_failed", "sync_failed", "record_created"], "main", True)
    endpoint = await wh.run(handlers.create_endpoint, cmd)
    assert endpoint.secret.startswith("whsec_") and endpoint.id.startswith("ep_")
    assert endpoint.event_types == ["sync_failed", "record_created"]
    created = views.EndpointCreated.of(endpoint).model_dump(mode="json")
    assert created["created_at"] == "2026-01-01T00:00:00Z" and created["secret"] == endpoint.secret


async def test_a_replay_joins_the_back_of_its_lane_and_a_waiting_message_is_left_alone(wh):
    await wh.endpoint()
    await wh.handle["record.changed"]([record(1), record(2)])
    first, second = (m for m, _ in wh.repo.ready_lanes())
    wh.repo.messages_by_id[first].status = "failed"
    wh.repo.messages_by_id[second].ready = True
    assert await wh.run(handlers.replay_message, handlers.MessageRef("p1", second)) is False
    assert await wh.run(handlers.replay_message, handlers.MessageRef("p1", first)) is True
    assert wh.repo.ready_lanes() == [(second, True), (first, False)]


async def test_unknown_endpoints_and_messages_are_not_found(wh):
    with pytest.raises(errors.NotFound, match="webhook message not found"):
        await wh.run(handlers.replay_message, handlers.MessageRef("p1", "msg_x"))
    endpoint = await wh.endpoint(project="p2")
    for handler, cmd in [
        (handlers.replay_failed, handlers.ReplayFailed("p1", endpoint, None)),
        (handlers.rotate_secret, handlers.EndpointRef("p1", endpoint)),
        (handlers.delete_endpoint, handlers.EndpointRef("p1", endpoint)),
        (handlers.set_enabled, handlers.SetEnabled("p1", endpoint, False)),
    ]:
        with pytest.raises(errors.NotFound, match="webhook endpoint not found"):
            await wh.run(handler, cmd)
    with pytest.raises(errors.NotFound):
        await views.endpoint(wh.read, "p1", endpoint)


@pytest.mark.parametrize(("query", "field", "message"), [
    (views.MessagesQuery(event_type="nope"), "event_type", "unknown event type"),
    (views.MessagesQuery(status="lost"), "status", "unknown status"),
    (views.MessagesQuery(cursor="not a cursor"), "cursor", "invalid cursor"),
])
async def test_a_message_list_with_a_bad_filter_is_refused_naming_it(wh, query, field, message):
    with pytest.raises(errors.Invalid) as refused:
        await views.messages(wh.read, "p1", query)
    assert refused.value.message == message and refused.value.details[0]["field"] == field


async def test_the_message_list_pages_newest_first_with_a_cursor(wh):
    await wh.endpoint()
    await wh.handle["record.changed"]([record(i) for i in range(5)])
    first = await views.messages(wh.read, "p1", views.MessagesQuery(limit=3))
    rest = await views.messages(wh.read, "p1", views.MessagesQuery(limit=3,
                                                                    cursor=first.next_cursor))
    ids = [m.payload["data"]["record_id"] for m in first.data + rest.data]
    assert ids == ["r4", "r3", "r2", "r1", "r0"] and rest.next_cursor is None
    waiting = first.data[0].model_dump(mode="json")
    assert waiting["type"] == waiting["event_type"] == "record_created"
    assert waiting["next_attempt_at"] == "2026-01-01T00:00:00Z" and waiting["attempts"] == []

"""The kit's batch handlers (`dispatch.Batch`) and route use cases (`dispatch.use_case`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from ferry_contracts import ConnectionChanged, Envelope
from ferry_kit.dispatch import Batch, consumer_handlers, use_case
from ferry_kit.fake_uow import FakeUnitOfWork
from ferry_kit.uow import UnitOfWork

TOPIC = "connection.changed"


def _changed(cid: str) -> Envelope[ConnectionChanged]:
    payload = ConnectionChanged(connection_id=cid, user_id="u", provider_name="sandbox",
                                status="CONNECTED")
    return Envelope.of(payload, project_id="p", connection_id=cid)


def _by_connection(events: Sequence[Envelope[Any]]) -> list[list[Envelope[Any]]]:
    groups: list[list[Envelope[Any]]] = []
    for e in events:
        if groups and groups[-1][0].connection_id == e.connection_id:
            groups[-1].append(e)
        else:
            groups.append([e])
    return groups


async def test_a_batch_handler_gets_each_groups_fresh_events_in_its_own_unit_of_work():
    calls: list[list[str]] = []

    async def on_many(events: list[Envelope[ConnectionChanged]], uow: UnitOfWork[None],
                      tag: str) -> None:
        calls.append([f"{tag}:{e.data.connection_id}" for e in events])
        uow.emit(events[-1].data)

    uow = FakeUnitOfWork(repos=None)
    table = {TOPIC: Batch(on_many, split=_by_connection)}
    handle = consumer_handlers(table, uow, {"tag": "t"})[TOPIC]
    a1, a2, b = _changed("a"), _changed("a"), _changed("b")
    await handle([a1, a2, b])
    await handle([a1, a2])  # redelivered: claimed before, the handler is not called
    assert calls == [["t:a", "t:a"], ["t:b"]]
    assert [e.connection_id for e in uow.committed] == ["a", "b"] and uow.commits == 3


async def test_a_batch_handler_without_a_split_takes_the_whole_batch():
    sizes: list[int] = []

    async def on_many(events: list[Envelope[ConnectionChanged]], uow: UnitOfWork[None]) -> None:
        sizes.append(len(events))

    uow = FakeUnitOfWork(repos=None)
    handle = consumer_handlers({TOPIC: Batch(on_many)}, uow, {})[TOPIC]
    await handle([_changed("a"), _changed("b"), _changed("c")])
    assert sizes == [3] and uow.commits == 1


async def test_a_request_runs_in_its_own_unit_of_work_and_answers_the_result():
    async def rename(name: str, uow: UnitOfWork[None], suffix: str) -> str:
        uow.emit(_changed(name).data)
        return name + suffix

    uow = FakeUnitOfWork(repos=None)
    assert await use_case(rename, uow, {"suffix": "!"})("x") == "x!"
    assert uow.commits == 1 and len(uow.committed) == 1


async def test_a_failing_request_commits_nothing():
    async def fail(message: str, uow: UnitOfWork[None]) -> None:
        uow.emit(_changed(message).data)
        raise ValueError("no")

    uow = FakeUnitOfWork(repos=None)
    with pytest.raises(ValueError):
        await use_case(fail, uow, {})("x")
    assert uow.committed == [] and uow.rollbacks == 1

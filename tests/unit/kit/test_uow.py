"""The unit of work's contract, shown on the fake, and the kit's handler dispatch."""

from __future__ import annotations

import pytest
from ferry_contracts import ConnectionChanged, Envelope
from ferry_kit.dispatch import (
    MissingDependency,
    RequestRunner,
    bind,
    consumer_handlers,
)
from ferry_kit.fake_uow import FakeUnitOfWork
from ferry_kit.uow import UnitOfWork, UnitOfWorkClosed


def _changed(cid: str = "c1") -> Envelope[ConnectionChanged]:
    payload = ConnectionChanged(
        connection_id=cid, user_id="u", provider_name="sandbox", status="CONNECTED"
    )
    return Envelope.of(payload, project_id="p", connection_id=cid)


async def test_emitted_events_reach_the_outbox_only_on_commit():
    uow = FakeUnitOfWork(repos=None)
    async with uow:
        uow.emit(_changed().data, project_id="p")
        assert uow.committed == []
        await uow.commit()
    [event] = uow.committed
    assert event.type == "connection.changed" and event.connection_id == "c1"
    assert event.project_id == "p"


async def test_an_event_emitted_encoded_goes_as_it_is_and_the_fake_reads_it_back():
    from ferry_contracts.topics import Encoded, dump

    event = _changed()
    encoded = Encoded(event.id, event.type, event.connection_id, dump(event))
    uow = FakeUnitOfWork(repos=None)
    async with uow:
        assert uow.emit(encoded, project_id="other") is encoded
        assert uow.pending == [encoded]
        await uow.commit()
    assert uow.committed == [event]


async def test_rolls_back_uncommitted_work_by_default():
    uow = FakeUnitOfWork(repos=None)
    event = _changed()
    async with uow:
        assert await uow.claim(event)
        uow.emit(event)
    assert uow.committed == [] and uow.rollbacks == 1
    async with uow:
        assert await uow.claim(event), "a rolled-back claim does not count as processed"


async def test_an_event_processed_once_is_not_claimed_again():
    uow = FakeUnitOfWork(repos=None)
    event = _changed()
    async with uow:
        assert await uow.claim(event)
        await uow.commit()
    async with uow:
        assert not await uow.claim(event)
        assert await uow.claim_all([event, _changed("c2")]) != []


async def test_a_duplicate_inside_one_batch_is_claimed_once():
    uow = FakeUnitOfWork(repos=None)
    event = _changed()
    async with uow:
        assert await uow.claim_all([event, event]) == [event]


async def test_nothing_can_be_emitted_outside_the_block_or_after_commit():
    uow = FakeUnitOfWork(repos=None)
    with pytest.raises(UnitOfWorkClosed):
        uow.emit(_changed())
    async with uow:
        await uow.commit()
        with pytest.raises(UnitOfWorkClosed):
            uow.emit(_changed())


async def test_the_kit_claims_calls_each_fresh_event_and_commits_one_batch():
    seen: list[str] = []

    async def on_changed(
        event: Envelope[ConnectionChanged], uow: UnitOfWork[None], tag: str
    ) -> None:
        seen.append(f"{tag}:{event.data.connection_id}")
        uow.emit(event.data)

    uow = FakeUnitOfWork(repos=None)
    handle = consumer_handlers({"connection.changed": on_changed}, uow, {"tag": "t"})[
        "connection.changed"
    ]
    first, second = _changed("a"), _changed("b")
    await handle([first, second, first])
    await handle([first])  # redelivered: no second effect
    assert seen == ["t:a", "t:b"]
    assert [e.connection_id for e in uow.committed] == ["a", "b"] and uow.commits == 2


async def test_a_handler_failing_leaves_no_claim_and_no_event():
    async def on_changed(event: Envelope[ConnectionChanged], uow: UnitOfWork[None]) -> None:
        uow.emit(event.data)
        raise ValueError("boom")

    uow = FakeUnitOfWork(repos=None)
    handle = consumer_handlers({"connection.changed": on_changed}, uow, {})["connection.changed"]
    with pytest.raises(ValueError):
        await handle([_changed()])
    assert uow.committed == [] and uow.processed == set()


def test_a_missing_dependency_fails_at_start_not_at_the_first_event():
    async def on_changed(event: object, uow: object, clock: object) -> None: ...

    with pytest.raises(MissingDependency, match="clock"):
        bind(on_changed, {})


async def test_a_request_runs_in_its_own_unit_of_work_and_answers_the_handler_result():
    async def rename(request: str, uow: UnitOfWork[None], suffix: str) -> str:
        uow.emit(_changed(request))
        if request == "bad":
            raise ValueError(request)
        return request + suffix

    uow = FakeUnitOfWork(repos=None)
    run = RequestRunner(uow, {"suffix": "!"})
    assert await run(rename, "a") == "a!"
    with pytest.raises(ValueError):
        await run(rename, "bad")
    assert [e.connection_id for e in uow.committed] == ["a"]
    assert (uow.commits, uow.rollbacks) == (1, 1)

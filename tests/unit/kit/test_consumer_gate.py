"""A gated topic handler: the records of projects it does not want are neither decoded nor
handed to it, and the question of which it wants is asked once per run of the topic."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from ferry_contracts import Envelope, RecordChanged, SyncRequested
from ferry_contracts.topics import RECORD_CHANGED, SYNC_REQUESTED, dump
from ferry_kit.broker import Consumer, Gated, project_of
from ferry_kit.settings import KitSettings


def change(project: str | None, i: int) -> Envelope[Any]:
    return Envelope.of(
        RecordChanged(data_model="CONTACTS", record_id=f"r{i}", action="updated", cursor=f"{i}",
                      modified_at=datetime.now(UTC), data={"n": i}),
        project_id=project, connection_id="c1")


def record(topic: str, value: bytes, offset: int) -> ConsumerRecord[Any, Any]:
    return ConsumerRecord(topic, 0, offset, 0, 0, b"c1", value, None, 0, len(value), ())


class Run:
    """A consumer with a gated record.changed handler and a plain sync.requested one."""

    def __init__(self, wanted: set[str | None]) -> None:
        self.wanted = wanted
        self.asked: list[list[str | None]] = []
        self.handled: dict[str, list[Envelope[Any]]] = {RECORD_CHANGED: [], SYNC_REQUESTED: []}
        self.dead: list[int] = []

        async def projects(ids: list[str | None]) -> Collection[str | None]:
            self.asked.append(ids)
            return self.wanted & set(ids)

        def handler(topic: str) -> Any:
            async def handle(events: list[Envelope[Any]]) -> None:
                self.handled[topic] += events
            return handle

        settings = KitSettings(internal_token="x" * 16)  # type: ignore[call-arg]
        self.consumer = Consumer(KafkaBroker("127.0.0.1:1"), settings, "g", {
            RECORD_CHANGED: Gated(handler(RECORD_CHANGED), projects),
            SYNC_REQUESTED: handler(SYNC_REQUESTED),
        })

        async def dead_letter(r: ConsumerRecord[Any, Any], reason: str) -> None:
            self.dead.append(r.offset)
        self.consumer._dead_letter = dead_letter  # type: ignore[method-assign]


async def test_only_the_wanted_projects_records_reach_the_handler_in_order() -> None:
    run = Run({"p_yes"})
    events = [change("p_no", 0), change("p_yes", 1), change(None, 2), change("p_no", 3),
              change("p_yes", 4)]
    await run.consumer.process([record(RECORD_CHANGED, dump(e), i) for i, e in enumerate(events)])
    assert [e.id for e in run.handled[RECORD_CHANGED]] == [events[1].id, events[4].id]
    assert run.asked == [["p_no", "p_yes", None]]  # once for the run, each project once
    assert run.consumer.skipped == 3


async def test_a_wanted_project_is_remembered_for_a_while_and_an_unwanted_one_never() -> None:
    run = Run({"p_yes"})
    for i in range(3):
        await run.consumer.process([record(RECORD_CHANGED, dump(change("p_yes", i)), i),
                                    record(RECORD_CHANGED, dump(change("p_no", i)), i)])
    assert run.asked == [["p_yes", "p_no"], ["p_no"], ["p_no"]]
    await run.consumer.process([record(RECORD_CHANGED, dump(change("p_yes", 9)), 9)])
    assert len(run.asked) == 3, "a run of wanted projects only asks nothing"
    assert len(run.handled[RECORD_CHANGED]) == 4
    run.consumer.WANTED_TTL_SECONDS = 0.0
    run.consumer._wanted_until.clear()
    for i in range(2):
        await run.consumer.process([record(RECORD_CHANGED, dump(change("p_yes", i)), i)])
    assert run.asked[3:] == [["p_yes"], ["p_yes"]]


async def test_a_run_with_no_wanted_project_calls_no_handler() -> None:
    run = Run(set())
    await run.consumer.process([record(RECORD_CHANGED, dump(change("p", i)), i) for i in range(3)])
    assert run.handled[RECORD_CHANGED] == [] and run.consumer.skipped == 3


async def test_each_run_of_the_topic_asks_again_and_other_topics_are_not_gated() -> None:
    run = Run({"p"})
    sync = Envelope.of(SyncRequested(batch_id="b", connection_id="c1", provider_name="sandbox",
                                     models=[]), project_id="other")
    await run.consumer.process([
        record(RECORD_CHANGED, dump(change("p", 0)), 0),
        record(SYNC_REQUESTED, dump(sync), 1),
        record(RECORD_CHANGED, dump(change("q", 2)), 2),
    ])
    assert run.asked == [["p"], ["q"]]
    assert len(run.handled[RECORD_CHANGED]) == 1 and len(run.handled[SYNC_REQUESTED]) == 1


async def test_a_record_that_is_no_envelope_still_goes_to_the_dead_letter_topic() -> None:
    run = Run(set())
    await run.consumer.process([
        record(RECORD_CHANGED, b"{not json", 0),
        record(RECORD_CHANGED, b'{"project_id": 7}', 1),
        record(RECORD_CHANGED, dump(change("p", 2)), 2),
    ])
    assert run.dead == [0, 1] and run.handled[RECORD_CHANGED] == []


def test_the_project_is_read_without_validating_the_message() -> None:
    assert project_of(dump(change("p1", 0))) == (True, "p1")
    assert project_of(dump(change(None, 0))) == (True, None)
    assert project_of(b"[1]") == (False, None)
    assert project_of(b"\xff") == (False, None)


def test_a_message_not_written_as_ferry_writes_them_is_decoded_to_find_its_project() -> None:
    raw = dump(change("p1", 0))
    escaped = raw.replace(b'"project_id":"p1"', b'"project_id":"p\\u0031"')
    assert project_of(escaped) == (True, "p1")
    reordered = b'{"project_id":"p2","id":"x","type":"record.changed","occurred_at":"t"}'
    assert project_of(reordered) == (True, "p2")
    inside = b'{"id":"a\\"b","type":"t","occurred_at":"o","project_id":"p3","data":{}}'
    assert project_of(inside) == (True, "p3")
    assert project_of(raw.replace(b'"p1"', b'"\xff"')) == (False, None)
    assert project_of(raw.replace(b'"p1"', b"7")) == (False, None)

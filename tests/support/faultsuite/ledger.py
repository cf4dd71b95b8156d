"""After the run: what Ferry holds, emitted and delivered, against what the provider has."""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from ferry_kit.cursor import decode

from .work import Work


def digest(record: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(record, option=orjson.OPT_SORT_KEYS)).hexdigest()


async def record_changed(bootstrap: str) -> list[dict[str, Any]]:
    """Every `record.changed` message on the topic (wire duplicates included)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = [
            TopicPartition("record.changed", p)
            for p in consumer.partitions_for_topic("record.changed") or await _partitions(consumer)
        ]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        out: list[dict[str, Any]] = []
        while [p for p in parts if await consumer.position(p) < ends[p]]:
            batch = await consumer.getmany(*parts, timeout_ms=1000, max_records=10_000)
            out += [orjson.loads(m.value) for msgs in batch.values() for m in msgs]
        return out
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer) -> set[int]:
    await consumer._client.force_metadata_update()  # noqa: SLF001 - a fresh consumer knows no topic
    return consumer.partitions_for_topic("record.changed") or set()


def position(cursor: str) -> int:
    return int((decode(cursor) or "x:-1").rpartition(":")[2])


def _state(r: dict[str, Any]) -> str:
    """`deleted`, or the digest of the data: of an event's data or of one of Ferry's records."""
    deleted = r.get("action", r.get("_ferry", {}).get("action")) == "deleted"
    return "deleted" if deleted else digest(r["data"])


class Ledger:
    def __init__(self, work: Work) -> None:
        self.work = work
        self.figures: dict[str, Any] = {}
        self.problems: list[str] = []

    def check(self, ok: bool, problem: str) -> None:
        if not ok:
            self.problems.append(problem)

    async def build(self) -> Ledger:
        api = self.work.api
        assert api is not None
        events = await record_changed(self.work.stack.infra.bootstrap)
        unique = {e["id"]: e for e in events}
        self.figures["record.changed on the wire"] = len(events)
        self.figures["record.changed distinct"] = len(unique)
        for conn in self.work.connections:
            at_provider = (
                await api.sandbox.get(f"/_admin/accounts/{conn['account']}/records/contacts")
            ).json()["records"]
            ferry, _ = await api.records(conn["id"], "CONTACTS")
            mine = [e for e in unique.values() if e["connection_id"] == conn["id"]]
            self.records(conn["id"], at_provider, ferry)
            self.changes(conn["id"], mine, ferry)
        self.wire_order(events)
        self.webhooks(list(unique.values()))
        await self.jobs()
        return self

    def records(self, cid: str, at_provider: list[dict], ferry: list[dict]) -> None:
        provider = {r["id"]: digest(r) for r in at_provider}
        live = {r["id"]: digest(r["data"]) for r in ferry if r["_ferry"]["action"] != "deleted"}
        deleted = {r["id"] for r in ferry if r["_ferry"]["action"] == "deleted"}
        f = self.figures
        f[f"{cid} provider / ferry live / ferry deleted"] = (len(provider), len(live), len(deleted))
        self.check(
            provider.keys() == live.keys(),
            f"{cid}: ids differ: "
            f"{len(provider.keys() - live.keys())} missing at Ferry, "
            f"{len(live.keys() - provider.keys())} extra",
        )
        wrong = [i for i in provider.keys() & live.keys() if provider[i] != live[i]]
        self.check(not wrong, f"{cid}: {len(wrong)} records differ by hash, e.g. {wrong[:3]}")
        gone = deleted & provider.keys()
        self.check(
            not gone, f"{cid}: {len(gone)} deleted at Ferry but at the provider: {sorted(gone)[:3]}"
        )

    def changes(self, cid: str, events: list[dict], ferry: list[dict]) -> None:
        """One event per change: one per (record, cursor position), one `created` per record,
        and the last event of each record is Ferry's state of it."""
        per_version = Counter((e["data"]["record_id"], e["data"]["cursor"]) for e in events)
        twice = [k for k, n in per_version.items() if n > 1]
        self.check(
            not twice, f"{cid}: {len(twice)} changes with several record.changed: {twice[:3]}"
        )
        created = Counter(
            e["data"]["record_id"] for e in events if e["data"]["action"] == "created"
        )
        self.check(
            all(n == 1 for n in created.values()),
            f"{cid}: records created twice: {[k for k, n in created.items() if n > 1][:3]}",
        )
        last: dict[str, dict] = {}
        for e in sorted(events, key=lambda e: position(e["data"]["cursor"])):
            last[e["data"]["record_id"]] = e["data"]
        state = {r["id"]: r for r in ferry}
        off = [i for i, r in state.items() if i not in last or _state(last[i]) != _state(r)]
        self.check(not off, f"{cid}: {len(off)} records whose events do not end in their state")
        self.figures[f"{cid} events by action"] = dict(Counter(e["data"]["action"] for e in events))

    def wire_order(self, events: list[dict]) -> None:
        """On the topic (one partition per connection), each connection's changes in cursor
        order, counting each event where it first appears."""
        order: dict[str, list[tuple[int, str]]] = defaultdict(list)
        seen: set[str] = set()
        for e in events:
            if e["id"] not in seen:
                seen.add(e["id"])
                order[e["connection_id"]].append(
                    (position(e["data"]["cursor"]), e["data"]["action"])
                )
        for cid, p in order.items():
            back = [(a, b) for a, b in zip(p, p[1:], strict=False) if b[0] < a[0]]
            self.check(
                not back,
                f"record.changed/{cid}: {len(back)} events behind a later change, "
                f"e.g. (position, action) then: {back[:3]}",
            )

    def webhooks(self, events: list[dict]) -> None:
        expected = {
            (
                e["connection_id"],
                e["data"]["record_id"],
                e["data"]["cursor"],
                "record_" + e["data"]["action"],
            )
            for e in events
        }
        for n, hook in enumerate(self.work.stack.hooks):
            got = hook.deliveries()
            ids: dict[tuple, set[str]] = defaultdict(set)
            for d in got:
                ids[(d["conn"], d["rid"], d["cursor"], d["type"])].add(d["id"])
            name = f"endpoint {n}"
            self.figures[f"{name} deliveries / distinct webhook-id"] = (
                len(got),
                len({d["id"] for d in got}),
            )
            missing, extra = expected - ids.keys(), ids.keys() - expected
            self.check(not missing, f"{name}: {len(missing)} events never delivered")
            self.check(not extra, f"{name}: {len(extra)} deliveries of no event")
            several = [k for k, v in ids.items() if len(v) > 1]
            self.check(not several, f"{name}: {len(several)} events under several webhook-ids")
            self.order(name, got)

    def order(self, name: str, got: list[dict]) -> None:
        first: dict[str, list[int]] = defaultdict(list)
        seen: set[str] = set()
        for d in got:
            if d["id"] not in seen:
                seen.add(d["id"])
                first[d["conn"]].append(position(d["cursor"]))
        for cid, positions in first.items():
            back = sum(1 for a, b in zip(positions, positions[1:], strict=False) if b < a)
            self.check(back == 0, f"{name}/{cid}: {back} deliveries overtook an earlier one")

    async def jobs(self) -> None:
        rows = await self.work.query("SELECT id, status, error FROM executor.jobs")
        self.figures["jobs by status"] = dict(Counter(r["status"] for r in rows))
        stuck = [r["id"] for r in rows if r["status"] not in ("complete", "failed")]
        self.check(not stuck, f"{len(stuck)} jobs neither complete nor failed: {stuck[:3]}")
        silent = [r["id"] for r in rows if r["status"] == "failed" and not r["error"]]
        self.check(not silent, f"{len(silent)} failed jobs without a reason: {silent[:3]}")

    def report(self) -> str:
        lines = ["LEDGER", *(f"  {k}: {v}" for k, v in self.figures.items())]
        lines += [
            "PROBLEMS" if self.problems else "no problem found",
            *(f"  {p}" for p in self.problems),
        ]
        return "\n".join(lines)

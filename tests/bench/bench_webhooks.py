"""Benchmark: webhook deliveries per second and event -> delivery latency with a local receiver.

Runs the webhooks service as its own process against the local broker and Postgres, and a
minimal local HTTP receiver in this process. Two phases:
1. latency: record.changed events published at a steady rate (default 200/s, 50 connections,
   one ordered endpoint) for D seconds; prints p50/p95/p99/max from the event's creation
   (`created_at` of the body) to its arrival at the receiver;
2. throughput: a backlog of N events for a project with E endpoints (N*E deliveries) is
   published at once; prints sustained deliveries/s between 10 % and 90 % of arrivals;
3. few lanes: L events for each of 2 connections to 3 ordered endpoints (6 lanes, 6*L
   deliveries), the fault suite's shape; prints deliveries/s and checks each lane's first
   arrivals are in cursor order.
With `FERRY_BENCH_WEBHOOKS_BASELINE` naming another checkout's `services/webhooks/src` (e.g.
`git worktree add /tmp/wh-old <commit>`), the phases run first on that code, then on this one
(each with a service process of its own), and the ratios are printed. The service's CPU
seconds are printed for each phase. A baseline older than this checkout's kit can name both:
`.../services/webhooks/src:.../libs/kit/src` (put on PYTHONPATH).
Run: `uv run python tests/bench/bench_webhooks.py [rate] [seconds] [backlog] [endpoints]
[lane_events]`; `FERRY_BENCH_PHASES` (default `latency,throughput,lanes`) picks phases.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from procstats import cpu_seconds  # noqa: E402
from support.infra import start_infra  # noqa: E402


class Receiver:
    """A bare ASGI app: 204 for every POST, noting the arrival of each webhook-id."""

    def __init__(self) -> None:
        self.arrivals: dict[str, list[tuple[str, float, float]]] = {}
        self.cursors: dict[str, list[tuple[str, str]]] = {}  # (connection, cursor) per path

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        if scope["type"] != "http":
            return
        body, more = b"", True
        while more:
            msg = await receive()
            body += msg.get("body", b"")
            more = msg.get("more_body", False)
        now = time.time()
        doc = orjson.loads(body)
        created = datetime.fromisoformat(doc["created_at"]).timestamp()
        self.arrivals.setdefault(scope["path"], []).append((doc["id"], now, now - created))
        data = doc["data"]
        self.cursors.setdefault(scope["path"], []).append((data["connection_id"], data["cursor"]))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def in_order(cursors: list[tuple[str, str]]) -> bool:
    """Each connection's first arrivals in cursor order (repeats, as after a crash, allowed)."""
    firsts = list(dict.fromkeys(cursors))
    return all(
        [c for k, c in firsts if k == conn] == sorted(c for k, c in firsts if k == conn)
        for conn in {k for k, _ in firsts}
    )


async def run(
    infra, rate: int, seconds: int, backlog: int, endpoints: int, lane_events: int
) -> None:
    import httpx
    import uvicorn
    from aiokafka import AIOKafkaProducer
    from ferry_contracts import ConnectionChanged, Envelope, RecordChanged
    from ferry_contracts.topics import CONNECTION_CHANGED, RECORD_CHANGED, dump
    from ferry_kit.infra import free_port
    from support.procs import ServiceProcess

    receiver = Receiver()
    rport, port = free_port(), free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            receiver,
            host="127.0.0.1",
            port=rport,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
    )
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    server_task = asyncio.create_task(server.serve())
    env = infra.env(
        FERRY_WEBHOOKS_PORT=str(port),
        FERRY_WEBHOOKS_ALLOW_LOOPBACK_URLS="true",
        FERRY_CONNECTIONS_URL=f"http://127.0.0.1:{free_port()}",
        FERRY_LOG_LEVEL="WARNING",
    )
    proc = ServiceProcess("ferry_webhooks", env)  # started per run below
    producer = AIOKafkaProducer(
        bootstrap_servers=infra.bootstrap, max_batch_size=1024 * 1024, linger_ms=2
    )
    await producer.start()
    api = httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}",
        headers={"x-ferry-internal-token": env["FERRY_INTERNAL_TOKEN"]},
    )
    phases = os.environ.get("FERRY_BENCH_PHASES", "latency,throughput,lanes").split(",")
    try:

        async def send(topic: str, events: list) -> None:
            for e in events:
                producer.send_nowait(topic, dump(e), key=e.connection_id.encode()) if hasattr(
                    producer, "send_nowait"
                ) else await producer.send(topic, dump(e), key=e.connection_id.encode())
            await producer.flush()

        def record(pid: str, cid: str, i: int) -> Envelope:
            return Envelope.of(
                RecordChanged(
                    data_model="CONTACTS",
                    record_id=f"r{i}",
                    action="created",
                    cursor=f"{i:012d}",
                    modified_at=datetime.now(UTC),
                    data={"i": i, "name": "x" * 200},
                ),
                project_id=pid,
                connection_id=cid,
            )

        async def wait_count(path: str, n: int, timeout: float) -> None:
            deadline = time.monotonic() + timeout
            while len(receiver.arrivals.get(path, [])) < n and time.monotonic() < deadline:
                await asyncio.sleep(0.05)

        async def connect(pid: str, conns: list[str]) -> None:
            await send(
                CONNECTION_CHANGED,
                [
                    Envelope.of(
                        ConnectionChanged(
                            connection_id=c,
                            user_id="u",
                            provider_name="sandbox",
                            status="CONNECTED",
                            previous_status="CONNECTED",
                            version=1,
                        ),
                        project_id=pid,
                        connection_id=c,
                    )
                    for c in conns
                ],
            )

        def sustained(times: list[float]) -> float:
            lo, hi = times[len(times) // 10], times[len(times) * 9 // 10]
            return (len(times) * 0.8) / max(hi - lo, 1e-9)

        async def lanes(label: str) -> float:
            """2 connections x 3 ordered endpoints: 6 lanes of `lane_events` each."""
            pid, conns = f"prj_bench_lanes_{label}", [f"con_ln_{label}_{i}" for i in range(2)]
            paths = [f"/ln_{label}_{k}" for k in range(3)]
            for path in paths:
                r = await api.post(
                    f"/internal/projects/{pid}/webhook-endpoints",
                    json={"url": f"http://127.0.0.1:{rport}{path}"},
                )
                assert r.status_code == 201, r.text
            await connect(pid, conns)
            expected = lane_events * len(conns)
            t0 = time.time()
            await send(RECORD_CHANGED, [record(pid, conns[k % 2], k) for k in range(expected)])
            published = time.time()
            for path in paths:
                await wait_count(path, expected, 60 + expected / 50)
            times = sorted(a[1] for p in paths for a in receiver.arrivals.get(p, []))
            ordered = all(in_order(receiver.cursors.get(p, [])) for p in paths)
            rate_ = sustained(times) if len(times) >= 10 else 0.0
            print(
                f"few-lanes phase ({label}): {lane_events} events x 2 connections x 3 ordered "
                f"endpoints = {expected * 3} deliveries in 6 lanes; received {len(times)} "
                f"(published in {published - t0:.2f} s); first arrivals in cursor order per "
                f"lane: {'yes' if ordered else 'NO'}"
            )
            if len(times) >= 10:
                print(
                    f"  sustained {rate_:,.0f} deliveries/s (10-90 %); all in "
                    f"{times[-1] - t0:.2f} s = {len(times) / (times[-1] - t0):,.0f}/s end to end"
                )
            return rate_

        # --- phase 1: latency at a steady rate ----------------------------------------------
        async def latency(label: str) -> float:
            pid, path = f"prj_bench_latency_{label}", f"/lat_{label}"
            conns = [f"con_lat_{label}_{i}" for i in range(50)]
            r = await api.post(
                f"/internal/projects/{pid}/webhook-endpoints",
                json={"url": f"http://127.0.0.1:{rport}{path}"},
            )
            assert r.status_code == 201, r.text
            await connect(pid, conns)
            # warm-up: the consumer group must own its partitions before we measure
            await send(RECORD_CHANGED, [record(pid, conns[0], -1)])
            await wait_count(path, 1, 60)
            receiver.arrivals[path] = []
            tick, total, i = 0.05, rate * seconds, 0
            start = time.monotonic()
            while i < total:
                due = int((time.monotonic() - start) * rate) + 1
                batch = [record(pid, conns[k % len(conns)], k) for k in range(i, min(due, total))]
                i += len(batch)
                if batch:
                    await send(RECORD_CHANGED, batch)
                await asyncio.sleep(
                    max(0.0, start + i / rate - time.monotonic() + tick / 2)
                    if i < due
                    else tick / 5
                )
            await wait_count(path, total, 60)
            lat = [a[2] * 1000 for a in receiver.arrivals.get(path, [])]
            print(
                f"latency phase ({label}): {rate} events/s for {seconds} s, 1 ordered endpoint, "
                f"{len(conns)} connections: {len(lat)}/{total} delivered"
            )
            if not lat:
                return float("nan")
            print(
                f"  event -> delivery ms: p50 {pct(lat, 0.5):.1f}  p95 {pct(lat, 0.95):.1f}  "
                f"p99 {pct(lat, 0.99):.1f}  max {max(lat):.1f}"
            )
            return pct(lat, 0.99)

        # --- phase 2: throughput on a backlog -----------------------------------------------
        async def throughput(label: str) -> float:
            pid, path = f"prj_bench_tput_{label}", f"/tp_{label}"
            conns = [f"con_tp_{label}_{i}" for i in range(100)]
            for _k in range(endpoints):
                r = await api.post(
                    f"/internal/projects/{pid}/webhook-endpoints",
                    json={"url": f"http://127.0.0.1:{rport}{path}"},
                )
                assert r.status_code == 201, r.text
            await connect(pid, conns)
            expected = backlog * endpoints
            t0 = time.time()
            await send(
                RECORD_CHANGED, [record(pid, conns[k % len(conns)], k) for k in range(backlog)]
            )
            published = time.time()
            await wait_count(path, expected, 180)
            times = sorted(a[1] for a in receiver.arrivals.get(path, []))
            print(
                f"throughput phase ({label}): {backlog} events x {endpoints} ordered endpoints "
                f"(100 connections) = {expected} deliveries; "
                f"received {len(times)} (published in {published - t0:.2f} s)"
            )
            if len(times) < 10:
                return float("nan")
            print(
                f"  sustained {sustained(times):,.0f} deliveries/s (10-90 %); "
                f"all in {times[-1] - t0:.2f} s from first publish "
                f"= {len(times) / (times[-1] - t0):,.0f}/s end to end"
            )
            return sustained(times)

        # --- each phase on the baseline's code (if named), then on this one ----------------
        baseline = os.environ.get("FERRY_BENCH_WEBHOOKS_BASELINE")
        runs = ([("before", baseline)] if baseline else []) + [("after", None)]
        measure = {"latency": latency, "throughput": throughput, "lanes": lanes}
        if not lane_events:
            phases = [p for p in phases if p != "lanes"]
        results: dict[tuple[str, str], float] = {}
        for label, src in runs:
            proc.stop()
            extra = {"PYTHONPATH": src} if src else {}
            proc = ServiceProcess("ferry_webhooks", {**env, **extra}).start()
            await asyncio.to_thread(proc.wait_http, f"http://127.0.0.1:{port}/healthz", 60)
            assert proc.proc is not None
            service = psutil.Process(proc.proc.pid)
            for phase in phases:
                cpu = cpu_seconds(service)
                results[(phase, label)] = await measure[phase](label)
                results[(f"{phase} cpu", label)] = cpu = cpu_seconds(service) - cpu
                print(f"  webhooks service CPU in the phase: {cpu:.2f} s")
        if baseline:
            for phase, what in (
                ("latency", "p99 ms"),
                ("throughput", "deliveries/s"),
                ("lanes", "few-lanes deliveries/s"),
                *((f"{p} cpu", f"{p} phase service CPU s") for p in measure),
            ):
                if phase in phases:
                    before, after = results[(phase, "before")], results[(phase, "after")]
                    print(
                        f"{what}: before {before:,.1f}  after {after:,.1f}  "
                        f"after/before {after / before:.2f}"
                    )
    finally:
        await api.aclose()
        await producer.stop()
        proc.stop()
        server.should_exit = True
        await asyncio.wait_for(server_task, 5)


def main() -> None:
    args = [int(a) for a in sys.argv[1:]]
    rate, seconds, backlog, endpoints, lane_events = (
        args + [200, 20, 5000, 4, 20000][len(args) :]
    )[:5]
    infra = start_infra()
    try:
        os.environ.update(infra.env())
        asyncio.run(run(infra, rate, seconds, backlog, endpoints, lane_events))
    finally:
        infra.stop()


if __name__ == "__main__":
    main()

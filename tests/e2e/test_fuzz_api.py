"""Schemathesis against the gateway's OpenAPI spec, on a running platform with real data.

Every public operation is fuzzed (examples, coverage, fuzzing and stateful phases) with a
project's secret key; the hooks in `support/fuzz_hooks.py` put the project's real connection,
job, record and webhook ids into about half the cases, and keep webhook URLs on loopback.
The only check is the one the contract makes: bad input never yields a server error.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from support.e2e import Api

pytestmark = pytest.mark.slow

TESTS = Path(__file__).resolve().parents[1]


async def _real_ids(platform, receiver_url: str) -> tuple[dict[str, str], str]:
    project = platform.create_project()
    api = Api(platform, project)
    try:
        ep = await api.http.post("/v1/webhook-endpoints", json={"url": receiver_url})
        assert ep.status_code == 201, ep.text
        conn = await api.connect(["contacts", "invoices"], user="fuzz-user")
        await api.seed(conn["account"], "contacts", 30)
        [job] = await api.sync(conn["id"], [{"data_model": "CONTACTS"}])
        await api.wait_job(job["id"])
        records, _ = await api.records(conn["id"], "CONTACTS")
        messages = await _messages(api)
    finally:
        await api.close()
    ids = {
        "user_id": "fuzz-user",
        "connection_id": conn["id"],
        "job_id": job["id"],
        "data_model": "CONTACTS",
        "record_id": records[0]["id"],
        "endpoint_id": ep.json()["id"],
    }
    data = messages.get("data", messages) if isinstance(messages, dict) else messages
    if data:
        ids["message_id"] = data[0]["id"]
    return ids, project["secret_key"]


async def test_fuzzing_every_public_operation_with_real_ids_finds_no_server_error(
    platform, receiver, tmp_path
):
    ids, secret = await _real_ids(platform, f"{receiver.url}/webhooks")
    report = tmp_path / "report"
    env = {
        **os.environ,
        "PYTHONPATH": str(TESTS),
        "SCHEMATHESIS_HOOKS": "support.fuzz_hooks",
        "FERRY_FUZZ_IDS": json.dumps(ids),
        "FERRY_FUZZ_WEBHOOK_URL": f"{receiver.url}/webhooks",
    }
    cmd = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{platform.gateway_url}/openapi.json",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        os.environ.get("FERRY_FUZZ_EXAMPLES", "25"),
        "--header",
        f"Authorization: Bearer {secret}",
        "--workers",
        "1",
        "--seed",
        "1",
        "--suppress-health-check",
        "all",
        "--max-redirects",
        "0",
        "--no-color",
        "--report",
        "ndjson",
        "--report-dir",
        str(report),
    ]
    done = await asyncio.to_thread(
        subprocess.run, cmd, env=env, capture_output=True, text=True, timeout=900, cwd=tmp_path
    )
    out = done.stdout + done.stderr
    (tmp_path / "schemathesis.txt").write_text(out)
    assert done.returncode == 0, out[-12000:]
    statuses = _statuses_by_operation(report)
    errors = {op: seen for op, seen in statuses.items() if any(s >= 500 for s in seen)}
    assert not errors, errors
    reached = {op for op, seen in statuses.items() if any(200 <= s < 300 for s in seen)}
    for op in (
        "GET /v1/connections/{connection_id}",
        "GET /v1/syncs/{job_id}",
        "GET /v1/connections/{connection_id}/records/{data_model}",
        "POST /v1/connections/{connection_id}/sync",
        "POST /v1/users/{user_id}/connections",
        "POST /v1/webhook-messages/{message_id}/replay",
    ):
        assert op in reached, f"{op} never reached a real resource: {statuses.get(op)}"


async def _messages(api: Api) -> object:
    for _ in range(50):
        messages = (await api.http.get("/v1/webhook-messages")).json()
        if messages.get("data", messages) if isinstance(messages, dict) else messages:
            return messages
        await asyncio.sleep(0.2)
    return []


def _statuses_by_operation(report: Path) -> dict[str, Counter[int]]:
    """Response statuses per operation (`GET /v1/syncs/{job_id}`), from the NDJSON report."""
    out: dict[str, Counter[int]] = {}
    for path in report.glob("*.ndjson"):
        for line in path.read_text().splitlines():
            recorder = json.loads(line).get("ScenarioFinished", {}).get("recorder", {})
            cases = recorder.get("cases", {})
            for case_id, interaction in recorder.get("interactions", {}).items():
                case = cases.get(case_id, {}).get("value", {})
                status = (interaction.get("response") or {}).get("status_code")
                if case and isinstance(status, int):
                    label = f"{case['method']} {case['path']}"
                    out.setdefault(label, Counter())[status] += 1
    return out

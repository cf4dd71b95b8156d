"""Schemathesis hooks for the API fuzz test: real ids in paths, webhook URLs kept on loopback.

Loaded by the schemathesis CLI through `SCHEMATHESIS_HOOKS`; the fixture passes the real ids of
a project's connection, job, record and webhook objects in `FERRY_FUZZ_IDS` (JSON), so about half
the generated cases reach real resources instead of 404s.
"""

from __future__ import annotations

import json
import os
import zlib
from typing import Any

import schemathesis

IDS: dict[str, str] = json.loads(os.environ.get("FERRY_FUZZ_IDS", "{}"))
RECEIVER = os.environ.get("FERRY_FUZZ_WEBHOOK_URL", "http://127.0.0.1:9/webhooks")


def _pick(name: str, value: Any) -> bool:
    """Deterministic per generated value, so Hypothesis can replay and shrink a case."""
    known = name in IDS or name == "provider_name"
    return known and zlib.crc32(repr(value).encode()) % 3 != 0


@schemathesis.hook
def map_path_parameters(context: Any, path_parameters: Any) -> Any:
    return _with_real_ids(path_parameters)


@schemathesis.hook
def map_query(context: Any, query: Any) -> Any:
    return _with_real_ids(query)


def _with_real_ids(params: Any) -> Any:
    if not isinstance(params, dict):
        return params
    return {k: IDS[k] if k in IDS and _pick(k, v) else v for k, v in params.items()}


@schemathesis.hook
def map_body(context: Any, body: Any) -> Any:
    # No fuzzed webhook endpoint may point anywhere but the test's own loopback receiver.
    if isinstance(body, dict) and "url" in body:
        return {**body, "url": RECEIVER}
    # A real provider in a third of the connections created, so some are made, not refused.
    if isinstance(body, dict) and "provider_name" in body and _pick("provider_name", body):
        return {**body, "provider_name": "sandbox_noauth", "requested_data_types": ["CONTACTS"]}
    return body

"""Pooled Postgres connections keep no session state past a transaction.

`ferry_kit.db.create_pool` skips asyncpg's reset round trip on release (`RESET ALL`, `UNLISTEN *`,
session advisory unlocks), so no code may leave such state on a pooled connection: a setting is
`SET LOCAL`, an advisory lock is an `_xact_` one, and LISTEN or a session lock takes a connection
of its own, only in the modules listed here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

# Modules that hold session state on a connection they open themselves (never a pooled one).
OWN_CONNECTION = {
    "libs/kit/src/ferry_kit/outbox.py",  # the relay's leader lock and its LISTEN
    "libs/kit/src/ferry_kit/migrate.py",  # one migrator per schema at a time
    "libs/kit/src/ferry_kit/db.py",  # defines `connect` and the pool's reset
    "services/webhooks/src/ferry_webhooks/delivery.py",  # the delivery workers' LISTEN
}

# Statements are matched in upper case, as Ferry writes SQL (so prose such as "Set by" is not).
SESSION_STATE = [
    (re.compile(r"^\s*SET\s+(?!LOCAL\b)"), "a session SET (use SET LOCAL)"),
    (re.compile(r"^\s*RESET\b"), "a session RESET"),
    (re.compile(r"\bpg_(?:try_)?advisory_(?:un)?lock(?:_shared)?\s*\(", re.I),
     "a session advisory lock (use pg_advisory_xact_lock)"),
    (re.compile(r"^\s*(?:UN)?LISTEN\b"), "LISTEN"),
    (re.compile(r"\bset_config\s*\((?![^)]*,\s*true\s*\))", re.I),
     "set_config(..., false) (session-wide)"),
    (re.compile(r"\bWITH\s+HOLD\b", re.I), "a cursor WITH HOLD"),
]


def session_state(source: str) -> list[str]:
    """What each string literal of `source` would leave on the session it runs on."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found += [what for pattern, what in SESSION_STATE if pattern.search(node.value)]
        elif isinstance(node, ast.Attribute) and node.attr == "add_listener":
            found.append("add_listener (LISTEN)")
    return found


def test_the_scan_finds_each_kind_of_session_state():
    assert session_state('q = "SET enable_nestloop = off"') == ["a session SET (use SET LOCAL)"]
    assert session_state('q = "SELECT pg_advisory_lock(1)"') != []
    assert session_state('q = "LISTEN ch"') == ["LISTEN"]
    assert session_state("c.add_listener('ch', f)") == ["add_listener (LISTEN)"]
    assert session_state('q = "SELECT set_config(\'a.b\', $1, false)"') != []
    assert session_state('q = "RESET ALL"') == ["a session RESET"]
    # What pooled connections may do: all of it ends with the transaction.
    assert session_state('q = "SET LOCAL enable_nestloop = off"') == []
    assert session_state('q = "SELECT pg_advisory_xact_lock(1)"') == []
    assert session_state('q = "SELECT set_config(\'a.b\', $1, true)"') == []
    assert session_state('q = """UPDATE jobs\\nSET status = $1"""') == []


def test_only_modules_with_their_own_connection_leave_session_state():
    offenders = []
    for folder in ("services", "libs"):
        for path in (ROOT / folder).glob("*/src/**/*.py"):
            name = str(path.relative_to(ROOT))
            if name in OWN_CONNECTION:
                continue
            offenders += [f"{name}: {what}" for what in session_state(path.read_text())]
    assert offenders == []

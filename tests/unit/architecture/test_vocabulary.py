"""Each shared value set (access levels, job, connection and sync statuses, frequencies,
triggers) is spelled out once, in `ferry_contracts.values`; everything in services/ and libs/
imports it."""

from __future__ import annotations

import ast
from pathlib import Path

from ferry_contracts import values

ROOT = Path(__file__).resolve().parents[3]
HOME = ROOT / "libs/contracts/src/ferry_contracts/values.py"
SHARED = {
    "access levels": set(values.ACCESS_LEVELS),
    "connection statuses": set(values.CONNECTION_STATUSES),
    "frequencies": set(values.FREQUENCIES),
    "job statuses": set(values.JOB_STATUSES),
    "sync statuses": set(values.SYNC_STATUSES),
    "triggers": set(values.TRIGGERS),
}
# Not converted yet (the one-shape issue lists them); remove a file once it imports the values.
NOT_YET: set[str] = set()


def _strings(nodes: list[ast.expr]) -> set[str] | None:
    if nodes and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in nodes):
        return {e.value for e in nodes}  # type: ignore[attr-defined]
    return None


def _string_sets(tree: ast.AST) -> list[tuple[int, set[str]]]:
    """Every literal collection of strings (`Literal[...]` too), and every class whose members
    are strings (an `Enum` of them)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            strings = _strings(node.elts)
        elif isinstance(node, ast.ClassDef):
            strings = _strings([s.value for s in node.body
                                if isinstance(s, ast.Assign) and isinstance(s.value, ast.Constant)])
        else:
            continue
        if strings:
            found.append((node.lineno, strings))
    return found


def test_no_shared_value_set_is_defined_twice():
    offenders = []
    for path in [*ROOT.glob("libs/*/src/**/*.py"), *ROOT.glob("services/*/src/**/*.py")]:
        where = str(path.relative_to(ROOT))
        if path == HOME or where in NOT_YET:
            continue
        for line, strings in _string_sets(ast.parse(path.read_text())):
            offenders += [f"{where}:{line} {name}" for name, v in SHARED.items() if strings == v]
    assert offenders == []


def test_each_shared_value_set_is_defined_once_in_its_home():
    sets = [strings for _, strings in _string_sets(ast.parse(HOME.read_text()))]
    assert {name: sets.count(v) for name, v in SHARED.items()} == {name: 1 for name in SHARED}


def test_the_check_sees_a_second_definition_of_any_shape():
    tree = ast.parse(
        'Level = Literal["DISABLED", "READ", "WRITE", "READ_WRITE"]\n'
        "class Trigger(StrEnum):\n"
        '    INITIAL = "initial"\n    SCHEDULE = "schedule"\n'
        '    FULL = "full_schedule"\n    MANUAL = "manual"\n'
    )
    found = [strings for _, strings in _string_sets(tree)]
    assert SHARED["access levels"] in found and SHARED["triggers"] in found

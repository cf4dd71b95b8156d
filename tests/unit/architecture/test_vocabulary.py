"""Each shared value set (access levels, statuses, frequencies) is spelled out once, in
`ferry_contracts.values`; everything else imports it."""

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
}
# Not converted yet (the one-shape issue lists them); remove a file once it imports the values.
NOT_YET: set[str] = set()


def _string_sets(tree: ast.AST) -> list[tuple[int, set[str]]]:
    found = []
    for node in ast.walk(tree):
        elements = node.elts if isinstance(node, ast.Tuple | ast.List | ast.Set) else None
        if elements and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in elements):
            found.append((node.lineno, {e.value for e in elements}))  # type: ignore[union-attr]
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

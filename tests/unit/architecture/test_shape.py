"""Services in the one shape stay in it: SQL only in their queries and repository, routes that
never open a transaction, and mypy strict on the typed core. Every module of services/ (the
sandbox too), libs/ and the CLI (src/ferry_cli) is held to short functions and lines of at most
100 characters; all of libs/ to mypy strict.

Convert a service, then add it to `CONVERTED` (and its handlers, views and domain to the
`[tool.mypy] files` of the root pyproject).
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
CONVERTED = ["scheduler", "connections", "executor", "gateway", "records", "webhooks"]
KIT_SHAPE = ["uow.py", "fake_uow.py", "dispatch.py", "errors.py", "clock.py", "ticker.py",
             "main.py"]
SQL_HOMES = {"queries.py", "repository.py"}
MAX_FUNCTION_LINES = 50
SQL = re.compile(
    r"\b(SELECT\b[\s\S]+\bFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b", re.IGNORECASE
)


def _sources() -> list[Path]:
    paths = [p for s in CONVERTED for p in (ROOT / "services" / s / "src").rglob("*.py")]
    return paths + [ROOT / "libs/kit/src/ferry_kit" / name for name in KIT_SHAPE]


def _libs() -> list[Path]:
    """Every module of libs/ (kit, contracts, connectors): held to the length gates whole."""
    return sorted((ROOT / "libs").glob("*/src/**/*.py"))


def _services() -> list[Path]:
    """Every module of every service under services/, converted or not (the sandbox too)."""
    return sorted((ROOT / "services").glob("*/src/**/*.py"))


def _cli() -> list[Path]:
    return sorted((ROOT / "src/ferry_cli").rglob("*.py"))


def _measured() -> list[Path]:
    return sorted({*_sources(), *_libs(), *_services(), *_cli()})


def _routes() -> list[Path]:
    """A service's HTTP modules: its `api.py` and every module of a `routes` or `console`
    package."""
    return [p for p in _services()
            if p.name == "api.py" or {"routes", "console"} & set(p.relative_to(ROOT).parts)]


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"


def test_sql_lives_only_in_queries_and_repository_modules():
    offenders = []
    for path in _sources():
        if path.name in SQL_HOMES or "ferry_kit" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if SQL.search(node.value):
                    offenders.append(_where(path, node))
    assert offenders == []


def test_the_sql_check_sees_sql():
    assert SQL.search("select id from t") and SQL.search("DELETE FROM outbox WHERE id = $1")
    assert not SQL.search("select the models to update")


def _opens_storage(node: ast.AST) -> bool:
    """`x.transaction(...)`, or `<pool>.acquire(...)` (a connection taken from a pool)."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return False
    if node.func.attr == "transaction":
        return True
    return node.func.attr == "acquire" and "pool" in ast.unparse(node.func.value).lower()


def test_no_route_opens_a_transaction_or_takes_a_connection():
    offenders = [
        _where(path, node)
        for path in _routes()
        for node in ast.walk(ast.parse(path.read_text()))
        if _opens_storage(node)
    ]
    assert offenders == []


def test_the_route_check_sees_routes_and_transactions():
    names = {str(p.relative_to(ROOT / "services")) for p in _routes()}
    assert {"scheduler/src/ferry_scheduler/api.py",
            "gateway/src/ferry_gateway/routes/syncs.py"} <= names
    opens = [ast.parse(s).body[0].value for s in (  # type: ignore[attr-defined]
        "conn.transaction()", "self.pool.acquire()", "budget.acquire(1)")]
    assert [_opens_storage(node) for node in opens] == [True, True, False]


def test_no_function_is_longer_than_fifty_lines():
    offenders = []
    for path in _measured():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    offenders.append(f"{_where(path, node)} {node.name}: {length} lines")
    assert offenders == []


def test_no_line_is_longer_than_a_hundred_characters():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or "ruff"
    paths = [str(p) for p in _measured()] + [str(ROOT / "tests")]
    done = subprocess.run(
        [ruff, "check", "--isolated", "--select", "E501", "--line-length", "100", *paths],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout


def test_the_length_gates_read_all_of_libs_every_service_and_the_cli():
    names = {p.relative_to(ROOT / "libs").parts[0] for p in _libs()}
    assert {"kit", "contracts", "connectors"} <= names
    assert ROOT / "libs/kit/src/ferry_kit/infra/process.py" in _measured()
    services = {p.relative_to(ROOT / "services").parts[0] for p in _services()}
    assert services == {p.name for p in (ROOT / "services").iterdir() if (p / "src").is_dir()}
    assert "sandbox" in services
    assert ROOT / "src/ferry_cli/main.py" in _measured()


def test_mypy_reads_all_of_libs():
    files = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["files"]
    for lib in ("contracts/src/ferry_contracts", "kit/src/ferry_kit",
                "connectors/src/ferry_connectors"):
        assert f"libs/{lib}" in files


def test_mypy_strict_passes_on_the_typed_core():
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary"],
        capture_output=True, text=True, cwd=ROOT, timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr

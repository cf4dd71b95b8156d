"""Services share only libs/: no service imports another service's package."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SERVICES = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "src").is_dir())


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_no_service_imports_another_service():
    offenders = []
    for service in SERVICES:
        others = {f"ferry_{s}" for s in SERVICES if s != service}
        for path in (ROOT / "services" / service / "src").rglob("*.py"):
            bad = _imports(path) & others
            if bad:
                offenders.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert offenders == []


def test_libraries_import_no_service():
    services = {f"ferry_{s}" for s in SERVICES}
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "libs").rglob("*.py")
        if _imports(p) & services
    ]
    assert offenders == []


def test_every_service_has_its_own_migrations():
    built = [s for s in SERVICES
             if list((ROOT / "services" / s / "src").glob("*/app.py"))
             or list((ROOT / "services" / s / "src").glob("*/bootstrap.py"))]
    assert "gateway" in built and "scheduler" in built
    for service in built:
        if service == "sandbox":
            continue
        assert list((ROOT / "services" / service / "migrations").glob("0001_*.sql")), service

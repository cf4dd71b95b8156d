"""docker-compose.yml's services, run as local processes with exactly the environment compose
gives them: only the broker, the database and the ports are pointed at the test's own."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

import yaml

COMPOSE = Path(__file__).parents[2] / "docker-compose.yml"
_VAR = re.compile(r"\$\{(\w+)(?::([?-])([^}]*))?\}")
INFRA = ("kafka", "postgres")


def interpolate(value: Any, given: dict[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?error}` from `given` (the .env)."""
    def one(m: re.Match[str]) -> str:
        name, op, arg = m.group(1), m.group(2), m.group(3) or ""
        if given.get(name):
            return given[name]
        if op == "?":
            raise KeyError(f"compose needs {name}: {arg}")
        return arg if op == "-" else ""
    return _VAR.sub(one, str(value))


def services(given: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Each Ferry service of the compose file: its environment (interpolated) and command."""
    spec = yaml.safe_load(COMPOSE.read_text())["services"]
    out = {}
    for name, svc in spec.items():
        if name in INFRA:
            continue
        env = {k: interpolate(v, given) for k, v in (svc.get("environment") or {}).items()}
        args = (svc.get("build") or {}).get("args") or {}
        out[name] = {"env": env, "command": svc.get("command"), "service": args.get("SERVICE")}
    return out


def pointed(env: dict[str, str], bootstrap: str, dsn: str, ports: dict[str, int]) -> dict[str, str]:
    """The compose environment with the broker, the database and every host:port made local."""
    out = dict(env)
    if "FERRY_KAFKA_BOOTSTRAP" in out:
        out["FERRY_KAFKA_BOOTSTRAP"] = bootstrap
    if "FERRY_DATABASE_URL" in out:
        out["FERRY_DATABASE_URL"] = dsn
    for key, value in out.items():
        for name, port in ports.items():
            value = re.sub(rf"//{name}:\d+", f"//127.0.0.1:{port}", value)
        out[key] = value
    for name, port in ports.items():
        out[f"FERRY_{name.upper()}_PORT"] = str(port)
    return out


def command(svc: dict[str, Any], ports: dict[str, int], name: str) -> list[str]:
    """The container's command, run from this checkout's virtualenv (`/app/.venv/bin/ferry`)."""
    ferry = str(Path(sys.executable).with_name("ferry"))
    if svc["command"]:
        cmd = [ferry if part.endswith("/ferry") else part for part in svc["command"]]
        return [str(ports[name]) if part == "8090" else part for part in cmd]
    return [ferry, "run", svc["service"] or name]


def base_env() -> dict[str, str]:
    """What a container has besides compose's environment: a PATH and the image's ENV."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/"),
            "PYTHONUNBUFFERED": "1"}

"""The operator CLI beside a running platform, found through `.ferry/` files alone."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import httpx
import pytest
from support.e2e import Api

pytestmark = pytest.mark.slow


def _ferry(cwd, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FERRY_")}
    env["COLUMNS"] = "120"
    return subprocess.run([sys.executable, "-m", "ferry_cli.main", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def project(platform):
    return platform.create_project()


@pytest.fixture
def dev_dir(tmp_path, platform, project):
    """What `ferry dev` leaves behind: .ferry/dev.json and .ferry/secrets.json."""
    state = tmp_path / ".ferry"
    state.mkdir()
    dev = {"gateway_url": platform.gateway_url, "sandbox_url": platform.sandbox_url,
           **{k: project[k] for k in ("project_id", "secret_key", "signing_key")},
           **{f"{s}_url": f"http://127.0.0.1:{platform.ports[s]}"
              for s in ("connections", "scheduler", "executor", "records", "webhooks")}}
    (state / "dev.json").write_text(json.dumps(dev))
    (state / "secrets.json").write_text(json.dumps({"admin_token": platform.admin_token}))
    return tmp_path


def _works(platform, key: str) -> int:
    return httpx.get(f"{platform.gateway_url}/v1/providers",
                     headers={"authorization": f"Bearer {key}"}).status_code


async def test_the_readme_project_create_line_works_beside_ferry_dev(platform, dev_dir):
    done = await asyncio.to_thread(_ferry, dev_dir, "project", "create", "--name", "other")
    assert done.returncode == 0, done.stderr
    created = json.loads(done.stdout)
    assert set(created) == {"project_id", "secret_key", "signing_key"}
    assert _works(platform, created["secret_key"]) == 200
    listed = await asyncio.to_thread(_ferry, dev_dir, "project", "list")
    assert created["project_id"] in {json.loads(line)["project_id"]
                                     for line in listed.stdout.splitlines()}


async def test_rotate_key_replaces_the_secret_key(platform, dev_dir):
    created = json.loads((await asyncio.to_thread(
        _ferry, dev_dir, "project", "create", "--name", "rotating")).stdout)
    done = await asyncio.to_thread(_ferry, dev_dir, "project", "rotate-key", created["project_id"])
    assert done.returncode == 0, done.stderr
    rotated = json.loads(done.stdout)
    assert _works(platform, rotated["secret_key"]) == 200
    assert _works(platform, created["secret_key"]) == 401


async def test_a_missing_setting_is_one_line_not_a_traceback(tmp_path):
    done = await asyncio.to_thread(_ferry, tmp_path, "project", "create", "--name", "x")
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0, done.stderr
    assert "FERRY_PUBLIC_URL" in done.stderr and "Traceback" not in done.stderr


async def test_status_shows_health_lag_and_backlog_of_each_service(dev_dir):
    done = await asyncio.to_thread(_ferry, dev_dir, "status")
    assert done.returncode == 0, done.stdout + done.stderr
    for service in ("gateway", "connections", "scheduler", "executor", "records", "webhooks"):
        line = next(ln for ln in done.stdout.splitlines() if f" {service} " in ln)
        assert " ok " in line, line
    executor = next(ln for ln in done.stdout.splitlines() if " executor " in ln)
    assert [c for c in executor.split("│") if c.strip().isdigit()], executor


async def test_sync_watch_follows_a_sync_to_its_end(platform, project, dev_dir):
    api = Api(platform, project)
    try:
        await api.seed("cli-account", "contacts", 12)
        conn = await api.connect(["CONTACTS"], account="cli-account", user="cli-user")
        await api.wait_jobs(conn["id"], 1)
    finally:
        await api.close()
    done = await asyncio.to_thread(_ferry, dev_dir, "sync", conn["id"], "--full", "--watch")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "CONTACTS: complete" in done.stdout and '"fetched": 12' in done.stdout

"""Ferry as production runs it: every service a separate OS process, plus the sandbox provider."""

from __future__ import annotations

import base64
import secrets

import httpx
from ferry_kit.infra import free_port

from .infra import Infra
from .procs import ServiceProcess

SERVICES = ("connections", "records", "webhooks", "executor", "scheduler", "gateway")


class ProcessPlatform:
    def __init__(
        self, infra: Infra, sandbox_client_secret: str = "cs-e2e", **extra_env: str
    ) -> None:
        self.sandbox_client_secret = sandbox_client_secret
        self.admin_token = "admin-" + secrets.token_hex(12)
        self.sandbox_admin_token = "sbx-" + secrets.token_hex(12)
        ports = {name: free_port() for name in (*SERVICES, "sandbox")}
        self.ports = ports
        self.gateway_url = f"http://127.0.0.1:{ports['gateway']}"
        self.sandbox_url = f"http://127.0.0.1:{ports['sandbox']}"
        self.public_host = f"127.0.0.1:{ports['gateway']}"
        env = infra.env(
            FERRY_ADMIN_TOKEN=self.admin_token,
            FERRY_SANDBOX_ADMIN_TOKEN=self.sandbox_admin_token,
            FERRY_TOKEN_KEYS="t1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
            FERRY_TOKEN_ACTIVE_KEY_ID="t1",
            FERRY_WEBHOOKS_ALLOW_LOOPBACK_URLS="true",
            FERRY_PUBLIC_URL=self.gateway_url,
            FERRY_PUBLIC_HOST=self.public_host,
            FERRY_SANDBOX_PUBLIC_URL=self.sandbox_url,
        )
        for name, port in ports.items():
            env[f"FERRY_{name.upper()}_PORT"] = str(port)
            env[f"FERRY_{name.upper()}_URL"] = f"http://127.0.0.1:{port}"
        env.update(extra_env)
        self.env = env
        self.procs: dict[str, ServiceProcess] = {}

    def start_service(self, name: str) -> ServiceProcess:
        if name == "sandbox":
            proc = ServiceProcess("ferry_sandbox", self.env, ["--port", str(self.ports["sandbox"])])
        else:
            proc = ServiceProcess(f"ferry_{name}", self.env)
        self.procs[name] = proc.start()
        proc.wait_http(f"http://127.0.0.1:{self.ports[name]}/healthz", timeout=60)
        return proc

    def start_replica(self, name: str, replica: str) -> ServiceProcess:
        """One more process of a service (`replica` names it in `procs`), on an HTTP port of its
        own; it joins the service's consumer group. The other services keep calling the first."""
        port = free_port()
        proc = ServiceProcess(
            f"ferry_{name}", {**self.env, f"FERRY_{name.upper()}_PORT": str(port)}
        )
        self.procs[replica] = proc.start()
        self.ports[replica] = port
        proc.wait_http(f"http://127.0.0.1:{port}/healthz", timeout=60)
        return proc

    def restart(self, name: str) -> ServiceProcess:
        """Start again a process that was killed (a replica on its own port)."""
        proc = self.procs[name].start()
        proc.wait_http(f"http://127.0.0.1:{self.ports[name]}/healthz", timeout=60)
        return proc

    def start(self) -> ProcessPlatform:
        for name in ("sandbox", *SERVICES):
            self.start_service(name)
        return self

    def stop(self) -> None:
        for proc in reversed(list(self.procs.values())):
            proc.stop()

    def logs(self) -> str:
        return "\n".join(f"--- {n}\n{p.log()}" for n, p in self.procs.items())

    def create_project(self) -> dict[str, str]:
        resp = httpx.post(
            f"{self.gateway_url}/v1/projects",
            json={"name": "e2e"},
            headers={"authorization": f"Bearer {self.admin_token}"},
            timeout=30,
        )
        resp.raise_for_status()
        project = resp.json()
        # Every project brings its own OAuth app; the sandbox accepts any client.
        app = httpx.put(
            f"{self.gateway_url}/v1/integrations/sandbox",
            json={"client_id": "ferry-e2e", "client_secret": self.sandbox_client_secret},
            headers={"authorization": f"Bearer {project['secret_key']}"},
            timeout=30,
        )
        app.raise_for_status()
        return project

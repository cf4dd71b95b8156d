"""The SSRF table of webhook URLs, a stub resolver and a network backend that stays on loopback.

No test resolves a real name or opens a connection off loopback: names come from `StubDNS`,
and `LoopbackOnly` records every connect and refuses any other address before touching it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

import httpcore

# Names the stub resolver knows; `.test` is reserved, so a leak to real DNS resolves nothing.
NAMES: dict[str, list[str]] = {
    "localhost": ["127.0.0.1"],
    "hooks.test": ["127.0.0.1"],
    "internal.test": ["10.1.2.3"],
    "metadata.test": ["169.254.169.254"],
    "mapped.test": ["::ffff:10.0.0.1"],
    "mixed.test": ["93.184.216.34", "127.0.0.1"],
    "public.test": ["93.184.216.34"],
}

# (url, a word of the reason). Every one is refused, with or without the loopback setting.
ALWAYS_REFUSED: list[tuple[str, str]] = [
    ("http://10.0.0.1/hook", "private"),
    ("http://172.16.3.4/hook", "private"),
    ("http://192.168.1.1/hook", "private"),
    ("http://internal.test/hook", "private"),
    ("http://169.254.1.1/hook", "link-local"),
    ("http://[fe80::1]/hook", "link-local"),
    ("http://169.254.169.254/latest/meta-data", "metadata"),
    ("http://metadata.test/latest/meta-data", "metadata"),
    ("http://[fd00:ec2::254]/", "metadata"),
    ("http://100.100.100.200/", "metadata"),
    ("http://100.64.0.1/", "non-public"),
    ("http://224.0.0.1/", "multicast"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://[::]/", "unspecified"),
    ("http://240.0.0.1/", "private|reserved"),
    ("http://[::ffff:127.0.0.1]/", "loopback"),
    ("http://[::ffff:169.254.169.254]/", "metadata"),
    ("http://mapped.test/", "private"),
    ("http://[::127.0.0.1]/", "loopback"),
    ("http://[64:ff9b::127.0.0.1]/", "loopback"),
    ("http://[64:ff9b::10.0.0.1]/", "private"),
    ("http://[64:ff9b:1::a00:1]/", "non-public"),
    ("http://[2002:7f00:1::]/", "loopback"),
    ("http://[2002:c0a8:101::1]/", "private"),
    ("http://[2002:a9fe:a9fe::]/", "metadata"),
    ("http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "non-public"),  # Teredo
    ("http://2130706433/", "dotted"),
    ("http://0177.0.0.1/", "dotted"),
    ("http://0x7f.0.0.1/", "dotted"),
    ("http://0x7f000001/", "dotted"),
    ("http://127.1/", "dotted"),
    ("ftp://public.test/", "http"),
    ("file:///etc/passwd", "http"),
    ("gopher://public.test/", "http"),
    ("http://user:pass@public.test/", "credentials"),
    ("http://public.test@127.0.0.1/", "credentials"),
    ("http:///nohost", "host"),
    ("http://exa_mple.test/", "host name"),
    ("http://-bad.test/", "host name"),
    ("http://a..b.test/", "host name"),
    ("http://public.test\\@127.0.0.1/", "credentials"),
    ("http://public.test/a\nb", "control"),
    ("http://unknown.test/", "resolve"),
]
# Refused unless the loopback setting is on.
LOOPBACK: list[tuple[str, str]] = [
    ("http://127.0.0.1:8080/hook", "loopback"),
    ("http://localhost/hook", "loopback"),
    ("http://[::1]/hook", "loopback"),
    ("http://mixed.test/hook", "loopback"),  # one public answer does not hide the other
]
TABLE = ALWAYS_REFUSED + LOOPBACK


class StubDNS:
    """A resolver of the names above; `answers` overrides per name, one list per call."""

    def __init__(self, names: dict[str, list[str]] | None = None,
                 answers: dict[str, list[list[str]]] | None = None) -> None:
        self.names = NAMES | (names or {})
        self.answers = {k: list(v) for k, v in (answers or {}).items()}
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        if self.answers.get(host):
            return self.answers[host].pop(0)
        if host not in self.names:
            raise OSError(f"stub resolver: unknown name {host}")
        return self.names[host]


class LoopbackOnly(httpcore.AsyncNetworkBackend):
    """Records every connection asked for; opens only those to loopback."""

    def __init__(self) -> None:
        from ferry_webhooks.client import AsyncioBackend

        self.inner = AsyncioBackend()
        self.connects: list[tuple[str, int]] = []

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
                          ) -> httpcore.AsyncNetworkStream:
        self.connects.append((host, port))
        if not ipaddress.ip_address(host).is_loopback:
            raise httpcore.ConnectError(f"test backend: no traffic off loopback ({host})")
        return await self.inner.connect_tcp(host, port, timeout, local_address, socket_options)

    async def connect_unix_socket(self, *args: object,
                                  **kwargs: object) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("no unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)

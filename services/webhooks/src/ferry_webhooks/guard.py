"""SSRF guard: a webhook URL must be plain http(s) to a name or address that is public.

Only loopback may be opened up (for `ferry dev` and tests); metadata addresses never.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
# `resolve(host, port)` -> the addresses of a name; tests pass a stub, never the real DNS.
Resolve = Callable[[str, int], Awaitable[list[str]]]

METADATA = {ipaddress.ip_address(a) for a in (
    "169.254.169.254", "169.254.170.2", "169.254.169.253", "100.100.100.200", "192.0.0.192",
    "fd00:ec2::254", "fd00:ec2::23",
)}
# IPv6 ranges that Python 3.11's `is_global` lets through although they are not plain public
# unicast: site-local, local-use NAT64 (RFC 8215) and Teredo, whose inner address is hidden.
NOT_PUBLIC_V6 = [ipaddress.ip_network(n) for n in ("fec0::/10", "64:ff9b:1::/48", "2001::/32")]
NAT64 = ipaddress.ip_network("64:ff9b::/96")
LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)\Z")
# WHATWG URL parsers read a host ending in a number as IPv4 (`2130706433`, `0x7f.1`, `0177.0.0.1`).
NUMERIC = re.compile(r"(0x[0-9a-f]*|[0-9]+)\Z")
SAFE = "/%:@!$&'()*+,;=-._~?"
DEFAULT_PORTS = {"http": 80, "https": 443}


class Blocked(ValueError):
    pass


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # ASCII (IDNA) name, or an IP address without brackets
    port: int
    path: str  # path and query, as sent on the request line

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for: mapped, compatible, NAT64 and 6to4 forms."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in NAT64 or (int(ip) >> 32 == 0 and int(ip) > 1):  # `::a.b.c.d` (IPv4-compatible)
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def refused(ip: IP, allow_loopback: bool = False) -> str | None:
    """Why an address may not be called, or None."""
    if ip in METADATA:
        return "a cloud metadata address"
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_v4(ip)
        if inner is not None:  # loopback is opened up only when written plainly
            why = refused(inner)
            return f"{why} embedded in IPv6" if why else None
        if any(ip in net for net in NOT_PUBLIC_V6):
            return "a non-public IPv6 address"
    if ip.is_loopback:
        return None if allow_loopback else "a loopback address"
    for attr, why in (("is_unspecified", "unspecified"), ("is_link_local", "link-local"),
                      ("is_multicast", "multicast"), ("is_private", "private"),
                      ("is_reserved", "reserved")):
        if getattr(ip, attr):
            return f"a {why} address"
    if not ip.is_global:
        return "a non-public address"
    return None


@functools.lru_cache(maxsize=4096)  # every delivery parses its endpoint's URL again
def parse(url: str) -> Target:
    """The target of an acceptable URL; raises Blocked otherwise."""
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        raise Blocked("the URL has spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Blocked(f"invalid URL: {exc}") from None
    if parts.scheme not in DEFAULT_PORTS:
        raise Blocked("only http and https URLs are allowed")
    if "@" in parts.netloc:
        raise Blocked("credentials in the URL are not allowed")
    if port == 0:
        raise Blocked("port 0 is not allowed")
    path = quote(parts.path or "/", safe=SAFE)
    if parts.query:
        path += "?" + quote(parts.query, safe=SAFE)
    port = port or DEFAULT_PORTS[parts.scheme]
    return Target(parts.scheme, _host(parts.hostname or ""), port, path)


def _host(host: str) -> str:
    if not host:
        raise Blocked("the URL has no host")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        name = host.encode("idna").decode("ascii").lower().removesuffix(".")
    except UnicodeError:
        raise Blocked(f"invalid host name {host!r}") from None
    labels = name.split(".")
    if len(name) > 253 or not all(LABEL.match(label) for label in labels):
        raise Blocked(f"invalid host name {host!r}")
    if NUMERIC.match(labels[-1]):
        raise Blocked(f"{host!r} is not a plain dotted IPv4 address")
    return name


async def system_resolve(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]).split("%")[0] for info in infos]


async def _resolve(host: str, port: int, resolve: Resolve, timeout: float) -> list[IP]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        async with asyncio.timeout(timeout):
            return [ipaddress.ip_address(a) for a in await resolve(host, port)]
    except (OSError, TimeoutError, ValueError) as exc:
        raise Blocked(f"{host} does not resolve: {exc or type(exc).__name__}") from None


async def addresses(host: str, port: int, allow_loopback: bool, resolve: Resolve,
                    timeout: float = 5.0) -> list[IP]:
    """The addresses to connect to: all of them acceptable, or Blocked."""
    found = await _resolve(host, port, resolve, timeout)
    if not found:
        raise Blocked(f"{host} does not resolve")
    for ip in found:
        why = refused(ip, allow_loopback)
        if why:
            said = f"{host} is" if str(ip) == host else f"{host} resolves to {ip},"
            raise Blocked(f"{said} {why}")
    return found


async def check(url: str, allow_loopback: bool, resolve: Resolve = system_resolve) -> Target:
    """Raise Blocked unless `url` may be called now."""
    target = parse(url)
    await addresses(target.host, target.port, allow_loopback, resolve)
    return target

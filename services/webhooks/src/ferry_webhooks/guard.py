"""SSRF guard: a webhook URL must be http(s) and resolve only to public addresses."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


class Blocked(ValueError):
    pass


def refused(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why an address may not be called, or None."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in METADATA:
        return "a cloud metadata address"
    for attr, why in (("is_unspecified", "unspecified"), ("is_loopback", "loopback"),
                      ("is_link_local", "link-local"), ("is_multicast", "multicast"),
                      ("is_private", "private"), ("is_reserved", "reserved")):
        if getattr(ip, attr):
            return f"a {why} address"
    if not ip.is_global:
        return "a non-public address"
    return None


def parse(url: str) -> tuple[str, int]:
    """The host and port of an acceptable URL; raises Blocked otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Blocked(f"invalid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise Blocked("only http and https URLs are allowed")
    if not parts.hostname:
        raise Blocked("the URL has no host")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def check(url: str, allow_private: bool, timeout: float = 5.0) -> None:
    """Raise Blocked unless `url` may be called now (the host is resolved every time)."""
    host, port = parse(url)
    if allow_private:
        return
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        loop = asyncio.get_running_loop()
        try:
            infos = await asyncio.wait_for(loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout)
        except (OSError, TimeoutError) as exc:
            raise Blocked(f"{host} does not resolve: {exc}") from None
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
        if not addresses:
            raise Blocked(f"{host} does not resolve")
    for ip in addresses:
        why = refused(ip)
        if why:
            raise Blocked(f"{host} resolves to {ip}, {why}")

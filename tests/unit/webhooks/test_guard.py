"""The SSRF guard: which webhook URLs and addresses are refused, with a stub resolver."""

from __future__ import annotations

import ipaddress

import pytest
from ferry_webhooks import guard
from support.ssrf import ALWAYS_REFUSED, LOOPBACK, TABLE, StubDNS


@pytest.mark.parametrize(("url", "why"), TABLE)
async def test_every_url_of_the_ssrf_table_is_refused_with_its_reason(url, why):
    with pytest.raises(guard.Blocked, match=why):
        await guard.check(url, allow_loopback=False, resolve=StubDNS())


@pytest.mark.parametrize(("url", "why"), ALWAYS_REFUSED)
async def test_the_loopback_setting_opens_up_nothing_but_plain_loopback(url, why):
    with pytest.raises(guard.Blocked, match=why):
        await guard.check(url, allow_loopback=True, resolve=StubDNS())


@pytest.mark.parametrize(("url", "_"), LOOPBACK)
async def test_loopback_is_allowed_when_the_setting_is_on(url, _):
    target = await guard.check(url, allow_loopback=True, resolve=StubDNS())
    assert target.path == "/hook"


@pytest.mark.parametrize("ip", ["169.254.169.254", "fd00:ec2::254", "100.100.100.200",
                                "::ffff:169.254.169.254", "2002:a9fe:a9fe::"])
def test_metadata_addresses_are_refused_even_with_loopback_allowed(ip):
    assert "metadata" in guard.refused(ipaddress.ip_address(ip), allow_loopback=True)


@pytest.mark.parametrize("ip", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111",
                                "64:ff9b::808:808", "2002:808:808::1"])
def test_public_addresses_are_allowed_also_behind_nat64_and_6to4(ip):
    assert guard.refused(ipaddress.ip_address(ip)) is None


async def test_a_public_name_gives_the_target_with_its_host_header_and_encoded_path():
    target = await guard.check("https://Public.test:8443/a%20b/ü?x=é#frag", False, StubDNS())
    assert target == guard.Target("https", "public.test", 8443, "/a%20b/%C3%BC?x=%C3%A9")
    assert target.host_header == "public.test:8443"
    plain = await guard.check("http://[2606:4700:4700::1111]/", False, StubDNS())
    assert plain.host_header == "[2606:4700:4700::1111]" and plain.host == "2606:4700:4700::1111"


async def test_an_internationalised_name_is_resolved_and_sent_in_its_ascii_form():
    dns = StubDNS({"xn--bcher-kva.test": ["93.184.216.34"]})
    target = await guard.check("http://bücher.test/", False, dns)
    assert target.host == "xn--bcher-kva.test" and dns.calls == ["xn--bcher-kva.test"]


async def test_a_literal_address_is_never_sent_to_the_resolver():
    dns = StubDNS()
    await guard.check("http://93.184.216.34/", False, dns)
    with pytest.raises(guard.Blocked):
        await guard.check("http://127.0.0.1/", False, dns)
    assert dns.calls == []

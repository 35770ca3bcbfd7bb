"""The DNS check against a real local DNS server speaking UDP, built with dnspython."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections.abc import AsyncIterator
from typing import cast

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from lookout.checks.active import CheckContext
from lookout.checks.active.dns import DnsParams, normal_answer, run
from lookout.domain.metrics import Metric

pytestmark = pytest.mark.integration

ZONE: dict[tuple[str, str], list[str]] = {
    ("www.test.", "A"): ["192.0.2.10", "192.0.2.11"],
    ("www.test.", "AAAA"): ["2001:db8:0:0::1"],
    ("alias.test.", "CNAME"): ["www.test."],
    ("test.", "MX"): ["10 mx1.test.", "20 MX2.test."],
    ("test.", "TXT"): ['"v=spf1 -all"', '"hello " "world"'],
    ("test.", "NS"): ["ns1.test."],
    ("test.", "SOA"): ["ns1.test. admin.test. 2026120401 3600 600 86400 300"],
    ("10.2.0.192.in-addr.arpa.", "PTR"): ["www.test."],
    ("_imap._tcp.test.", "SRV"): ["0 5 143 mail.test."],
}
"""The records the test server knows; other names are NXDOMAIN, SERVFAIL.test fails."""


class _DnsServer(asyncio.DatagramProtocol):
    """Answers queries from ZONE; ``silent.test`` is never answered."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.queries: list[str] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        query = dns.message.from_wire(data)
        question = query.question[0]
        name, kind = question.name.to_text().lower(), dns.rdatatype.to_text(question.rdtype)
        self.queries.append(f"{kind} {name}")
        if name == "silent.test.":
            return
        response = dns.message.make_response(query)
        records = ZONE.get((name, kind))
        if name == "servfail.test.":
            response.set_rcode(dns.rcode.SERVFAIL)
        elif records:
            response.answer.append(dns.rrset.from_text_list(name, 300, "IN", kind, records))
        elif not any(key[0] == name for key in ZONE):
            response.set_rcode(dns.rcode.NXDOMAIN)
        assert self.transport is not None
        self.transport.sendto(response.to_wire(), addr)


@pytest.fixture
async def dns_server() -> AsyncIterator[tuple[_DnsServer, int]]:
    """A DNS server on 127.0.0.1 (UDP) and its port."""
    loop = asyncio.get_running_loop()
    transport, server = await loop.create_datagram_endpoint(_DnsServer, local_addr=("127.0.0.1", 0))
    try:
        yield server, transport.get_extra_info("sockname")[1]
    finally:
        transport.close()


def _params(port: int, **fields: object) -> DnsParams:
    return DnsParams.model_validate({"server": "127.0.0.1", "port": port, **fields})


def elapsing(ctx: CheckContext, seconds: float) -> CheckContext:
    return dataclasses.replace(ctx, timer=itertools.count(0.0, seconds).__next__)


async def test_a_record_names_the_answers(
    dns_server: tuple[_DnsServer, int], check_context: CheckContext
) -> None:
    server, port = dns_server
    params = _params(port, name="www.test", warn=1.0, crit=2.0)

    outcome = await run(params, "192.0.2.99", elapsing(check_context, 0.004))

    assert outcome.state == 0
    assert outcome.summary == ("DNS OK - www.test A 192.0.2.10, 192.0.2.11 - 0.004 s response time")
    assert outcome.metrics == (Metric("time", 0.004, "s", warn=1.0, crit=2.0, min=0.0),)
    assert server.queries == ["A www.test."]
    assert outcome.long_output.startswith(f"Asked: server 127.0.0.1:{port}\n")


@pytest.mark.parametrize(
    ("name", "kind", "expect"),
    [
        ("www.test", "AAAA", "2001:db8::1"),
        ("alias.test", "CNAME", "www.test"),
        ("test", "MX", "20 mx2.test"),
        ("test", "TXT", "hello world"),
        ("test", "NS", "ns1.test."),
        ("test", "SOA", "ns1.test admin.test 2026120401 3600 600 86400 300"),
        ("192.0.2.10", "PTR", "www.test"),
        ("_imap._tcp.test", "SRV", "0 5 143 mail.test"),
    ],
)
async def test_every_record_type_with_expected_answer(
    dns_server: tuple[_DnsServer, int],
    check_context: CheckContext,
    name: str,
    kind: str,
    expect: str,
) -> None:
    _, port = dns_server
    params = _params(port, name=name, record_type=kind, expect=[expect])

    outcome = await run(params, "unused", check_context)

    assert outcome.state == 0, outcome.summary
    assert outcome.summary.startswith(f"DNS OK - {name} {kind} ")


@pytest.mark.parametrize(
    ("expect", "match", "state"),
    [
        (["192.0.2.10"], "any", 0),
        (["192.0.2.10", "192.0.2.99"], "any", 0),
        (["192.0.2.10", "192.0.2.11"], "all", 0),
        (["192.0.2.10", "192.0.2.99"], "all", 2),
        (["192.0.2.99"], "any", 2),
    ],
)
async def test_expected_answers_any_or_all(
    dns_server: tuple[_DnsServer, int],
    check_context: CheckContext,
    expect: list[str],
    match: str,
    state: int,
) -> None:
    _, port = dns_server
    params = _params(port, name="www.test", expect=expect, match=match)

    outcome = await run(params, "unused", check_context)

    assert outcome.state == state
    if state:
        assert outcome.summary.startswith(
            f"DNS CRITICAL - expected {match} of {', '.join(expect)}, missing 192.0.2.99 - "
        ), outcome.summary


async def test_default_name_is_the_hosts(
    dns_server: tuple[_DnsServer, int], check_context: CheckContext
) -> None:
    server, port = dns_server

    outcome = await run(_params(port), "www.test", check_context)

    assert outcome.state == 0
    assert server.queries == ["A www.test."]


@pytest.mark.parametrize(
    ("name", "kind", "summary"),
    [
        ("nothing.test", "A", "DNS CRITICAL - nothing.test does not exist (NXDOMAIN)"),
        ("www.test", "MX", "DNS CRITICAL - no MX record for www.test"),
    ],
)
async def test_missing_records_are_critical(
    dns_server: tuple[_DnsServer, int],
    check_context: CheckContext,
    name: str,
    kind: str,
    summary: str,
) -> None:
    _, port = dns_server

    outcome = await run(_params(port, name=name, record_type=kind), "unused", check_context)

    assert (outcome.state, outcome.summary) == (2, summary)


async def test_servfail_and_silence_are_critical(
    dns_server: tuple[_DnsServer, int], check_context: CheckContext
) -> None:
    _, port = dns_server

    failed = await run(_params(port, name="servfail.test"), "unused", check_context)
    silent = await run(_params(port, name="silent.test", timeout=0.3), "unused", check_context)

    assert failed.state == 2
    assert failed.summary.startswith("DNS CRITICAL - no server answered A servfail.test: ")
    assert silent.summary == "DNS CRITICAL - Timeout after 0.3 s asking for A silent.test"


async def test_slow_answer_is_judged_by_thresholds(
    dns_server: tuple[_DnsServer, int], check_context: CheckContext
) -> None:
    _, port = dns_server
    params = _params(port, name="www.test", warn=0.1, crit=0.5)

    outcome = await run(params, "unused", elapsing(check_context, 0.2))

    assert outcome.state == 1
    assert outcome.summary.endswith("0.200 s response time (warn/crit at 0.100/0.500 s)")


def test_server_must_be_an_address() -> None:
    with pytest.raises(ValueError, match=r"server 'dns\.example' must be an IP address"):
        DnsParams(server="dns.example")


@pytest.mark.parametrize(
    ("text", "normal"),
    [("2001:DB8:0::1", "2001:db8::1"), ("10 MX.Example.", "10 mx.example"), (".", ".")],
)
def test_normal_answer(text: str, normal: str) -> None:
    assert normal_answer(text) == normal

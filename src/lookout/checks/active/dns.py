"""DNS check: ask a resolver for a name's records, compare the answers, time the query.

Uses dnspython's asyncio resolver (no subprocess). ``server`` picks the resolver; without it
the system's (``/etc/resolv.conf``) is asked. Answers are compared in a normal form: addresses
as ``ipaddress`` prints them, names in lower case without the final dot, TXT as its text.
"""

from __future__ import annotations

import ipaddress
from typing import Literal

import dns.asyncresolver
import dns.exception
import dns.name
import dns.rdata
import dns.rdatatype
import dns.resolver
import dns.reversename
from dns.rdtypes.ANY.TXT import TXT
from pydantic import Field, field_validator

from lookout.checks.active import (
    ActiveParams,
    CheckContext,
    Outcome,
    label,
    time_metric,
    time_state,
)

RecordType = Literal["A", "AAAA", "CNAME", "MX", "TXT", "NS", "SOA", "PTR", "SRV"]


class DnsParams(ActiveParams):
    """Resolve ``name`` (default: the host's address or name) as ``record_type``."""

    type: Literal["dns"] = Field("dns", description="Check type.")
    name: str | None = Field(
        None, min_length=1, description="Name to query (an address for PTR); default: the host's."
    )
    record_type: RecordType = Field("A", description="Record type to ask for.")
    server: str | None = Field(
        None, min_length=1, description="Resolver address to ask; default: the system's."
    )
    port: int = Field(53, ge=1, le=65535, description="Resolver port.")
    expect: tuple[str, ...] | None = Field(
        None, min_length=1, description="Expected answers, e.g. ['192.0.2.10'] or ['10 mx.x.org']."
    )
    match: Literal["any", "all"] = Field(
        "any", description="OK when any (or all) of the expected answers are in the answer."
    )

    @field_validator("server")
    @classmethod
    def _server_is_an_address(cls, server: str | None) -> str | None:
        if server is not None:
            try:
                ipaddress.ip_address(server)
            except ValueError:
                raise ValueError(f"server {server!r} must be an IP address") from None
        return server


async def run(params: DnsParams, target_address: str, ctx: CheckContext) -> Outcome:
    """One query; CRIT when it fails, has no answer or lacks the expected answers."""
    name = params.name or target_address
    query = f"{params.record_type} {name}"
    started = ctx.timer()
    try:
        answer = await _resolve(params, name)
    except dns.resolver.NXDOMAIN:
        return _failed(f"{name} does not exist (NXDOMAIN)", params)
    except dns.resolver.NoAnswer:
        return _failed(f"no {params.record_type} record for {name}", params)
    except dns.resolver.NoNameservers as exc:
        return _failed(f"no server answered {query}: {exc}", params)
    except dns.exception.Timeout:
        return _failed(f"Timeout after {params.timeout:g} s asking for {query}", params)
    except (dns.exception.DNSException, OSError, ValueError) as exc:
        return Outcome(state=3, summary=f"DNS UNKNOWN - {query}: {exc}")
    return _judge(params, name, answer, ctx.timer() - started)


async def _resolve(params: DnsParams, name: str) -> tuple[str, ...]:
    resolver = dns.asyncresolver.Resolver(configure=params.server is None)
    if params.server is not None:
        resolver.nameservers = [params.server]
    resolver.port = params.port
    qname = _query_name(name, params.record_type)
    answer = await resolver.resolve(qname, params.record_type, lifetime=params.timeout)
    return tuple(sorted(_normal(rdata) for rdata in answer))


def _query_name(name: str, record_type: str) -> str | dns.name.Name:
    if record_type == "PTR":
        try:
            return dns.reversename.from_address(name)
        except (ValueError, dns.exception.SyntaxError):
            return name
    return name


def _normal(rdata: dns.rdata.Rdata) -> str:
    if isinstance(rdata, TXT):
        return b"".join(rdata.strings).decode("utf-8", errors="replace")
    return normal_answer(rdata.to_text())


def normal_answer(text: str) -> str:
    """An answer in the form used to compare: lower case, no final dots, normal addresses."""
    try:
        return ipaddress.ip_address(text).compressed
    except ValueError:
        return " ".join(word.rstrip(".") for word in text.lower().split() if word != ".") or "."


def _failed(reason: str, params: DnsParams) -> Outcome:
    where = f"server {params.server}" if params.server else "system resolver"
    return Outcome(state=2, summary=f"DNS CRITICAL - {reason}", long_output=f"Asked: {where}")


def _judge(params: DnsParams, name: str, answers: tuple[str, ...], elapsed: float) -> Outcome:
    expect_state, expect_text = _judge_expected(params, answers)
    time_st, note = time_state(elapsed, params)
    state = max(expect_state, time_st)
    shown = ", ".join(answers)
    parts = [*expect_text, f"{name} {params.record_type} {shown}"]
    parts.append(f"{elapsed:.3f} s response time")
    summary = f"DNS {label(state)} - {' - '.join(parts)}{note}"
    where = f"server {params.server}:{params.port}" if params.server else "system resolver"
    long_output = f"Asked: {where}\n" + "\n".join(answers)
    return Outcome(state, summary, long_output, metrics=(time_metric(elapsed, params),))


def _judge_expected(params: DnsParams, answers: tuple[str, ...]) -> tuple[int, list[str]]:
    if params.expect is None:
        return 0, []
    got = set(answers)
    wanted = [e if params.record_type == "TXT" else normal_answer(e) for e in params.expect]
    missing = [e for e in wanted if e not in got]
    ok = len(missing) < len(wanted) if params.match == "any" else not missing
    if ok:
        return 0, []
    expected = ", ".join(wanted)
    return 2, [f"expected {params.match} of {expected}, missing {', '.join(missing)}"]

"""TLS certificate check: expiry, chain and host name of the certificate a server presents.

Connects on any port, optionally after STARTTLS (SMTP, IMAP, POP3, spoken as the protocols
define it). The chain is verified by OpenSSL against the system's CAs or ``ca_file``; when
that fails, a second, unverified handshake fetches the certificate so the summary can still
name it. The host name is matched against the certificate's subjectAltName (RFC 6125:
exact names, a left-most ``*`` label, IP addresses), so it is judged even without a chain.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import ssl
from dataclasses import dataclass
from typing import Literal

from cryptography import x509
from pydantic import Field, ValidationInfo, field_validator

from lookout.checks.active import ActiveParams, CheckContext, Outcome, describe_error, label
from lookout.domain.metrics import Metric

DAY = 86400.0
StartTls = Literal["smtp", "imap", "pop3"]


class TlsParams(ActiveParams):
    """Judge the certificate on ``host:port``: days left, chain and host name."""

    type: Literal["tls"] = Field("tls", description="Check type.")
    port: int = Field(443, ge=1, le=65535, description="TCP port to connect to.")
    host: str | None = Field(
        None, min_length=1, description="Name or address to connect to; default: the host's."
    )
    server_name: str | None = Field(
        None,
        min_length=1,
        description="Name sent as SNI and matched against the certificate; default: host.",
    )
    starttls: StartTls | None = Field(
        None, description="Speak this protocol's STARTTLS first: smtp, imap or pop3."
    )
    warn_days: int = Field(30, ge=0, description="WARN when fewer days than this are left.")
    crit_days: int = Field(14, ge=0, description="CRIT when fewer days than this are left.")
    verify_chain: bool = Field(True, description="CRIT unless the chain verifies.")
    verify_hostname: bool = Field(True, description="CRIT unless the certificate names the host.")
    ca_file: str | None = Field(
        None, min_length=1, description="PEM file of trusted CAs; default: the system's."
    )

    @field_validator("crit_days")
    @classmethod
    def _crit_not_above_warn(cls, crit: int, info: ValidationInfo) -> int:
        warn = info.data.get("warn_days")
        if warn is not None and crit > warn:
            raise ValueError(f"crit_days ({crit}) must not be above warn_days ({warn})")
        return crit


@dataclass(frozen=True, slots=True)
class _Peer:
    cert: x509.Certificate
    chain_error: str | None


class _ProtocolError(Exception):
    """The server did not answer STARTTLS as its protocol says."""


async def run(params: TlsParams, target_address: str, ctx: CheckContext) -> Outcome:
    """Handshake, then judge expiry, chain and host name; CRIT when the handshake fails."""
    host = params.host or target_address
    name = params.server_name or host
    try:
        async with asyncio.timeout(params.timeout):
            peer = await _peer(params, host, name)
    except TimeoutError:
        return _failed(f"Timeout after {params.timeout:g} s on {host} port {params.port}")
    except _ProtocolError as exc:
        return _failed(f"STARTTLS ({params.starttls}) failed on {host} port {params.port}: {exc}")
    except (OSError, ValueError) as exc:
        return _failed(f"{describe_error(exc)} on {host} port {params.port}")
    return _judge(params, name, peer, ctx.clock())


def _failed(reason: str) -> Outcome:
    return Outcome(state=2, summary=f"TLS CRITICAL - {reason}")


async def _peer(params: TlsParams, host: str, name: str) -> _Peer:
    if not params.verify_chain:
        return _Peer(await _handshake(params, host, name, _unverified()), None)
    try:
        return _Peer(await _handshake(params, host, name, _verifying(params.ca_file)), None)
    except ssl.SSLCertVerificationError as exc:
        cert = await _handshake(params, host, name, _unverified())
        return _Peer(cert, str(exc.verify_message))


def _verifying(ca_file: str | None) -> ssl.SSLContext:
    tls = ssl.create_default_context(cafile=ca_file)
    tls.check_hostname = False  # matched by _names_host, also for unverified chains
    return tls


def _unverified() -> ssl.SSLContext:
    tls = ssl.create_default_context()
    tls.check_hostname = False
    tls.verify_mode = ssl.CERT_NONE
    return tls


async def _handshake(
    params: TlsParams, host: str, name: str, tls: ssl.SSLContext
) -> x509.Certificate:
    sni = None if _is_ip(name) else name
    if params.starttls is None:
        _, writer = await asyncio.open_connection(host, params.port, ssl=tls, server_hostname=sni)
    else:
        reader, writer = await asyncio.open_connection(host, params.port)
        try:
            await _STARTTLS[params.starttls](reader, writer)
            await writer.start_tls(tls, server_hostname=sni)
        except BaseException:
            writer.transport.abort()
            raise
    try:
        return _certificate(writer)
    finally:
        writer.transport.abort()  # no close_notify: the check is done, the server may hang


def _certificate(writer: asyncio.StreamWriter) -> x509.Certificate:
    tls_object = writer.get_extra_info("ssl_object")
    der = tls_object.getpeercert(binary_form=True) if tls_object is not None else None
    if not der:
        raise ValueError("the server sent no certificate")
    return x509.load_der_x509_certificate(der)


# ---------------------------------------------------------------- STARTTLS dialogues
async def _smtp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _smtp_reply(reader, "220")
    writer.write(b"EHLO lookout.invalid\r\n")
    await _smtp_reply(reader, "250")
    writer.write(b"STARTTLS\r\n")
    await _smtp_reply(reader, "220")


async def _smtp_reply(reader: asyncio.StreamReader, code: str) -> None:
    while True:
        line = await _line(reader)
        if not line.startswith(code):
            raise _ProtocolError(f"expected {code}, got {line!r}")
        if line[3:4] != "-":
            return


async def _imap(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    greeting = await _line(reader)
    if not greeting.startswith("* OK"):
        raise _ProtocolError(f"expected '* OK' greeting, got {greeting!r}")
    writer.write(b"L1 STARTTLS\r\n")
    while (line := await _line(reader)).startswith("* "):
        pass
    if not line.startswith("L1 OK"):
        raise _ProtocolError(f"expected 'L1 OK', got {line!r}")


async def _pop3(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    for command in (None, b"STLS\r\n"):
        if command is not None:
            writer.write(command)
        line = await _line(reader)
        if not line.startswith("+OK"):
            raise _ProtocolError(f"expected '+OK', got {line!r}")


async def _line(reader: asyncio.StreamReader) -> str:
    raw = await reader.readline()
    if not raw:
        raise _ProtocolError("the server closed the connection")
    return raw.decode("utf-8", errors="replace").rstrip("\r\n")


_STARTTLS = {"smtp": _smtp, "imap": _imap, "pop3": _pop3}


# ---------------------------------------------------------------- judging
def _judge(params: TlsParams, name: str, peer: _Peer, now: float) -> Outcome:
    cert = peer.cert
    expires = cert.not_valid_after_utc
    days_left = (expires.timestamp() - now) / DAY
    state, problems = _judge_days(params, days_left)
    if peer.chain_error is not None:
        state, problems = 2, [f"certificate verify failed: {peer.chain_error}", *problems]
    if params.verify_hostname and not _names_host(cert, name):
        state, problems = 2, [*problems, f"certificate is not valid for {name!r}"]
    facts = (
        f"{_name(cert.subject)}, issued by {_name(cert.issuer)}, "
        f"expires {expires:%Y-%m-%d %H:%M} UTC ({_days(days_left)})"
    )
    summary = f"TLS {label(state)} - {' - '.join([*problems, facts])}"
    metric = Metric(
        "days_left", round(days_left, 3), "d", warn=params.warn_days, crit=params.crit_days
    )
    return Outcome(state, summary, long_output=_details(cert), metrics=(metric,))


def _judge_days(params: TlsParams, days_left: float) -> tuple[int, list[str]]:
    if days_left < 0:
        return 2, ["certificate expired"]
    if days_left < params.crit_days:
        return 2, [f"certificate expires in less than {params.crit_days} days"]
    if days_left < params.warn_days:
        return 1, [f"certificate expires in less than {params.warn_days} days"]
    return 0, []


def _days(days_left: float) -> str:
    if days_left < 0:
        return f"expired {-days_left:.0f} days ago"
    return f"{int(days_left)} days left"


def _name(name: x509.Name) -> str:
    common = name.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return f"CN={common[0].value!s}" if common else name.rfc4514_string() or "(empty name)"


def _details(cert: x509.Certificate) -> str:
    names = ", ".join(_alt_names(cert)) or "(none)"
    return (
        f"Subject: {cert.subject.rfc4514_string()}\n"
        f"Issuer: {cert.issuer.rfc4514_string()}\n"
        f"Valid from {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC "
        f"to {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC\n"
        f"Names: {names}\nSerial: {cert.serial_number:x}"
    )


def _alt_names(cert: x509.Certificate) -> list[str]:
    with contextlib.suppress(x509.ExtensionNotFound):
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        addresses = [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
        return [*san.get_values_for_type(x509.DNSName), *addresses]
    return []


def _names_host(cert: x509.Certificate, name: str) -> bool:
    """Whether the subjectAltName covers ``name`` (a DNS name or an IP address)."""
    names = _alt_names(cert)
    if _is_ip(name):
        wanted = ipaddress.ip_address(name)
        return any(_is_ip(n) and ipaddress.ip_address(n) == wanted for n in names)
    return any(_dns_match(pattern, name) for pattern in names if not _is_ip(pattern))


def _dns_match(pattern: str, name: str) -> bool:
    pattern, name = pattern.lower().rstrip("."), name.lower().rstrip(".")
    if pattern.startswith("*."):
        _, _, parent = name.partition(".")
        return bool(parent) and parent == pattern[2:]
    return pattern == name


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True

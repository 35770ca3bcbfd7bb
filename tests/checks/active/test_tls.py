"""The TLS certificate check against real local TLS, SMTP, IMAP and POP3 servers.

Certificates are made here with ``cryptography``: a test CA, leaves it signs (good, expiring,
expired, for another name) and a self-signed one. The clock is the real one; the
certificates are made relative to it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import ipaddress
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from lookout.checks.active import CheckContext
from lookout.checks.active.tls import TlsParams, run
from lookout.domain.metrics import Metric

pytestmark = pytest.mark.integration

NOW = dt.datetime.now(dt.UTC)
Pair = tuple[x509.Certificate, ec.EllipticCurvePrivateKey]


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _cert(
    common: str,
    *,
    signer: Pair | None = None,
    days: float = 90,
    names: tuple[str, ...] = ("127.0.0.1", "localhost"),
    ca: bool = False,
) -> Pair:
    key = ec.generate_private_key(ec.SECP256R1())
    issuer_name, issuer_key = (signer[0].subject, signer[1]) if signer else (_name(common), key)
    alt: list[x509.GeneralName] = [
        x509.IPAddress(ipaddress.ip_address(n)) if n[0].isdigit() else x509.DNSName(n)
        for n in names
    ]
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=400))
        .not_valid_after(NOW + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if alt:
        builder = builder.add_extension(x509.SubjectAlternativeName(alt), critical=False)
    return builder.sign(issuer_key, hashes.SHA256()), key


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """PEM files: ``ca`` (the trusted CA) and ``<kind>.pem`` chains with their keys."""
    folder = tmp_path_factory.mktemp("pki")
    ca = _cert("Lookout Test CA", days=3650, names=(), ca=True)
    leaves = {
        "good": _cert("good.test", signer=ca, days=200),
        "expiring": _cert("expiring.test", signer=ca, days=10.5),
        "soon": _cert("soon.test", signer=ca, days=20.5),
        "expired": _cert("expired.test", signer=ca, days=-3),
        "wronghost": _cert("other.test", signer=ca, days=200, names=("other.test", "*.x.test")),
        "selfsigned": _cert("selfsigned.test", days=200),
    }
    files = {"ca": folder / "ca.pem"}
    files["ca"].write_bytes(ca[0].public_bytes(serialization.Encoding.PEM))
    for kind, (cert, key) in leaves.items():
        files[kind] = folder / f"{kind}.pem"
        files[kind].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        files[f"{kind}.key"] = folder / f"{kind}.key"
        files[f"{kind}.key"].write_bytes(key_pem)
    return files


def _server_tls(pki: dict[str, Path], kind: str) -> ssl.SSLContext:
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(pki[kind], pki[f"{kind}.key"])
    return tls


Serve = Callable[[str], Awaitable[int]]


@pytest.fixture
async def tls_server(pki: dict[str, Path]) -> AsyncIterator[Serve]:
    """Start a TLS server presenting the ``kind`` certificate; returns its port."""
    servers: list[asyncio.Server] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.read()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.transport.abort()

    async def serve(kind: str) -> int:
        server = await asyncio.start_server(hold, "127.0.0.1", 0, ssl=_server_tls(pki, kind))
        servers.append(server)
        port: int = server.sockets[0].getsockname()[1]
        return port

    yield serve
    for server in servers:
        server.close()
        await server.wait_closed()


def _params(port: int, pki: dict[str, Path], **changes: object) -> TlsParams:
    return TlsParams.model_validate({"port": port, "ca_file": str(pki["ca"]), **changes})


async def test_good_certificate_names_subject_issuer_expiry(
    tls_server: Serve, pki: dict[str, Path], check_context: CheckContext
) -> None:
    port = await tls_server("good")

    outcome = await run(_params(port, pki), "127.0.0.1", check_context)

    assert outcome.state == 0, outcome.summary
    assert outcome.summary.startswith("TLS OK - CN=good.test, issued by CN=Lookout Test CA, ")
    assert outcome.summary.endswith("(199 days left)")
    expires = (NOW + dt.timedelta(days=200)).strftime("%Y-%m-%d")
    assert f"expires {expires} " in outcome.summary
    (metric,) = outcome.metrics
    assert metric.name == "days_left"
    assert (metric.unit, metric.warn, metric.crit) == ("d", 30, 14)
    assert 199.9 < metric.value <= 200.0
    assert "Names: localhost, 127.0.0.1" in outcome.long_output


@pytest.mark.parametrize(
    ("kind", "state", "problem"),
    [
        ("soon", 1, "TLS WARNING - certificate expires in less than 30 days - CN=soon.test"),
        ("expiring", 2, "TLS CRITICAL - certificate expires in less than 14 days - CN="),
        ("expired", 2, "TLS CRITICAL - certificate verify failed: certificate has expired - "),
    ],
)
async def test_expiry_is_judged_by_days_left(
    tls_server: Serve,
    pki: dict[str, Path],
    check_context: CheckContext,
    kind: str,
    state: int,
    problem: str,
) -> None:
    outcome = await run(_params(await tls_server(kind), pki), "127.0.0.1", check_context)

    assert outcome.state == state
    assert outcome.summary.startswith(problem), outcome.summary


async def test_expired_without_chain_check_says_how_long_ago(
    tls_server: Serve, pki: dict[str, Path], check_context: CheckContext
) -> None:
    params = _params(await tls_server("expired"), pki, verify_chain=False)

    outcome = await run(params, "127.0.0.1", check_context)

    assert outcome.state == 2
    assert outcome.summary.startswith("TLS CRITICAL - certificate expired - CN=expired.test")
    assert outcome.summary.endswith("(expired 3 days ago)")
    assert outcome.metrics[0].value < -2.9


async def test_custom_day_thresholds(
    tls_server: Serve, pki: dict[str, Path], check_context: CheckContext
) -> None:
    params = _params(await tls_server("expiring"), pki, warn_days=7, crit_days=3)

    outcome = await run(params, "127.0.0.1", check_context)

    assert outcome.state == 0, outcome.summary


async def test_wrong_host_is_critical(
    tls_server: Serve, pki: dict[str, Path], check_context: CheckContext
) -> None:
    outcome = await run(_params(await tls_server("wronghost"), pki), "127.0.0.1", check_context)

    assert outcome.state == 2
    assert "certificate is not valid for '127.0.0.1'" in outcome.summary


@pytest.mark.parametrize(
    ("server_name", "state"),
    [("other.test", 0), ("OTHER.test.", 0), ("a.x.test", 0), ("a.b.x.test", 2), ("x.test", 2)],
)
async def test_server_name_matches_names_and_wildcards(
    tls_server: Serve,
    pki: dict[str, Path],
    check_context: CheckContext,
    server_name: str,
    state: int,
) -> None:
    params = _params(await tls_server("wronghost"), pki, server_name=server_name)

    outcome = await run(params, "127.0.0.1", check_context)

    assert outcome.state == state, outcome.summary


async def test_hostname_check_can_be_off(
    tls_server: Serve, pki: dict[str, Path], check_context: CheckContext
) -> None:
    params = _params(await tls_server("wronghost"), pki, verify_hostname=False)

    assert (await run(params, "127.0.0.1", check_context)).state == 0


async def test_self_signed_fails_the_chain_but_names_the_certificate(
    tls_server: Serve, pki: dict[str, Path], check_context: CheckContext
) -> None:
    port = await tls_server("selfsigned")

    outcome = await run(_params(port, pki), "127.0.0.1", check_context)

    assert outcome.state == 2
    assert outcome.summary.startswith(
        "TLS CRITICAL - certificate verify failed: self-signed certificate - "
        "CN=selfsigned.test, issued by CN=selfsigned.test"
    ), outcome.summary


async def test_system_store_does_not_trust_the_test_ca(
    tls_server: Serve, check_context: CheckContext
) -> None:
    params = TlsParams(port=await tls_server("good"))

    outcome = await run(params, "127.0.0.1", check_context)

    assert outcome.state == 2
    assert "certificate verify failed: unable to get local issuer certificate" in outcome.summary


async def test_clock_comes_from_the_context(
    tls_server: Serve, pki: dict[str, Path], check_context: CheckContext
) -> None:
    later = (NOW + dt.timedelta(days=190)).timestamp()
    ctx = dataclasses.replace(check_context, clock=lambda: later)

    outcome = await run(_params(await tls_server("good"), pki), "127.0.0.1", ctx)

    assert outcome.state == 2
    assert outcome.summary.endswith("(9 days left)")


async def test_refused_and_plain_servers_are_critical(
    refused_port: int, tcp_port: int, check_context: CheckContext
) -> None:
    refused = await run(TlsParams(port=refused_port), "127.0.0.1", check_context)
    plain = await run(TlsParams(port=tcp_port, timeout=2), "127.0.0.1", check_context)

    assert refused.summary == f"TLS CRITICAL - Connection refused on 127.0.0.1 port {refused_port}"
    assert plain.state == 2
    assert plain.summary.startswith("TLS CRITICAL - ")


async def test_timeout_is_critical(blackhole_port: int, check_context: CheckContext) -> None:
    outcome = await run(TlsParams(port=blackhole_port, timeout=0.2), "127.0.0.1", check_context)

    assert (
        outcome.summary == f"TLS CRITICAL - Timeout after 0.2 s on 127.0.0.1 port {blackhole_port}"
    )


def test_crit_days_above_warn_days_is_refused() -> None:
    with pytest.raises(ValueError, match=r"crit_days \(40\) must not be above warn_days \(30\)"):
        TlsParams(crit_days=40)


# ---------------------------------------------------------------- STARTTLS
class _Handler:
    async def handle_DATA(self, *_: object) -> str:
        return "250 OK"


async def test_smtp_starttls(pki: dict[str, Path], check_context: CheckContext) -> None:
    tls = _server_tls(pki, "good")
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(_Handler(), hostname="mx.test", tls_context=tls), "127.0.0.1", 0
    )
    port = server.sockets[0].getsockname()[1]
    try:
        params = _params(port, pki, starttls="smtp")
        outcome = await run(params, "127.0.0.1", check_context)
    finally:
        server.close()
    assert outcome.state == 0, outcome.summary
    assert outcome.summary.startswith("TLS OK - CN=good.test")


async def test_smtp_without_starttls_is_critical(
    pki: dict[str, Path], check_context: CheckContext
) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(_Handler()), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        outcome = await run(_params(port, pki, starttls="smtp"), "127.0.0.1", check_context)
    finally:
        server.close()
    assert outcome.state == 2
    assert outcome.summary.startswith(
        f"TLS CRITICAL - STARTTLS (smtp) failed on 127.0.0.1 port {port}: expected 220, got '"
    ), outcome.summary


Dialogue = list[tuple[bytes | None, bytes]]
"""What a line server expects (None: nothing) and what it answers, before TLS starts."""

DIALOGUES: dict[str, Dialogue] = {
    "imap": [
        (None, b"* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n"),
        (b"L1 STARTTLS\r\n", b"L1 OK Begin TLS negotiation now\r\n"),
    ],
    "pop3": [(None, b"+OK POP3 ready\r\n"), (b"STLS\r\n", b"+OK Begin TLS negotiation\r\n")],
}


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
async def test_imap_and_pop3_starttls(
    pki: dict[str, Path], check_context: CheckContext, protocol: str
) -> None:
    tls = _server_tls(pki, "good")
    heard: list[bytes] = []

    async def speak(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            for expected, answer in DIALOGUES[protocol]:
                if expected is not None:
                    heard.append(await reader.readline())
                writer.write(answer)
            await writer.start_tls(tls)
            await reader.read()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.transport.abort()

    server = await asyncio.start_server(speak, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        outcome = await run(_params(port, pki, starttls=protocol), "127.0.0.1", check_context)
    finally:
        server.close()
    assert outcome.state == 0, outcome.summary
    assert heard == [line for line, _ in DIALOGUES[protocol] if line is not None]
    assert outcome.metrics[0] == Metric(
        "days_left", outcome.metrics[0].value, "d", warn=30, crit=14
    )

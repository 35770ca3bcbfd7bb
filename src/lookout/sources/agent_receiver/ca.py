"""The site CA: signs the receiver's server certificate and the agents' client certificates.

Kept in ``<site>/ca/`` (keys mode 0600), created by ``lookout init`` or lazily on the first
``lookout serve`` of an older site. One CA per site, so a certificate of another site is
unknown here. EC P-256 keys: cheap handshakes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from OpenSSL import SSL

CA_DIR = "ca"
CA_LIFETIME_DAYS = 3650
SERVER_LIFETIME_DAYS = 397
NO_CHECK_TIME = 0x200000
"""OpenSSL's X509_V_FLAG_NO_CHECK_TIME: the receiver checks expiry itself, so that an expired
agent certificate gets an HTTP answer that says so rather than a bare TLS alert."""


class CsrError(ValueError):
    """A certificate signing request the CA will not sign."""


@dataclass(frozen=True)
class Issued:
    pem: str
    serial: str
    fingerprint: str
    """SHA-256 hex of the DER."""
    uuid: str
    not_after: float


def pem_to_der(pem: str) -> bytes:
    return x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)


def der_fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def _write(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def default_hostnames(extra: list[str]) -> list[str]:
    names = ["localhost", "127.0.0.1", socket.gethostname(), *extra]
    return list(dict.fromkeys(n for n in names if n))


class SiteCA:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.cert = x509.load_pem_x509_certificate((directory / "ca.pem").read_bytes())
        key = serialization.load_pem_private_key((directory / "ca.key").read_bytes(), None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{directory / 'ca.key'}: expected an EC private key")
        self.key: ec.EllipticCurvePrivateKey = key
        self.pem = (directory / "ca.pem").read_text()

    @property
    def fingerprint(self) -> str:
        """``SHA256:<hex>`` of the CA certificate, as agents pin it."""
        return "SHA256:" + der_fingerprint(self.cert.public_bytes(serialization.Encoding.DER))

    @classmethod
    def ensure(cls, site_dir: Path, site_name: str) -> SiteCA:
        """Load the site CA, creating it first if the site has none."""
        directory = site_dir / CA_DIR
        if not (directory / "ca.pem").is_file():
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            key = ec.generate_private_key(ec.SECP256R1())
            name = x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Lookout"),
                    x509.NameAttribute(NameOID.COMMON_NAME, f"Lookout site {site_name} CA"),
                ]
            )
            now = dt.datetime.now(dt.UTC)
            cert = (
                x509.CertificateBuilder()
                .subject_name(name)
                .issuer_name(name)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=5))
                .not_valid_after(now + dt.timedelta(days=CA_LIFETIME_DAYS))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(
                    x509.KeyUsage(
                        digital_signature=True,
                        key_cert_sign=True,
                        crl_sign=True,
                        content_commitment=False,
                        key_encipherment=False,
                        data_encipherment=False,
                        key_agreement=False,
                        encipher_only=False,
                        decipher_only=False,
                    ),
                    critical=True,
                )
                .add_extension(
                    x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
                )
                .sign(key, hashes.SHA256())
            )
            _write(directory / "ca.key", _key_pem(key), 0o600)
            _write(directory / "ca.pem", cert.public_bytes(serialization.Encoding.PEM), 0o644)
        return cls(directory)

    # ------------------------------------------------------------------ issuing
    def _builder(
        self, subject: x509.Name, public_key: ec.EllipticCurvePublicKey, days: float
    ) -> x509.CertificateBuilder:
        now = dt.datetime.now(dt.UTC)
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.cert.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - min(dt.timedelta(minutes=5), dt.timedelta(days=days) / 10))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
        )

    def server_cert(self, hostnames: list[str]) -> tuple[Path, Path]:
        """The receiver's certificate for ``hostnames`` (re-issued when the names change or
        less than 30 days are left). Returns (certificate, key) paths."""
        cert_path, key_path = self.dir / "server.pem", self.dir / "server.key"
        if cert_path.is_file() and key_path.is_file():
            cur = x509.load_pem_x509_certificate(cert_path.read_bytes())
            try:
                sans = cur.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
                have = {str(v) for v in sans.get_values_for_type(x509.DNSName)} | {
                    str(v) for v in sans.get_values_for_type(x509.IPAddress)
                }
            except x509.ExtensionNotFound:
                have = set()
            left = cur.not_valid_after_utc - dt.datetime.now(dt.UTC)
            if have == set(hostnames) and left > dt.timedelta(days=30):
                return cert_path, key_path
        key = ec.generate_private_key(ec.SECP256R1())
        alt: list[x509.GeneralName] = []
        for name in hostnames:
            try:
                alt.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                alt.append(x509.DNSName(name))
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostnames[0])])
        cert = (
            self._builder(subject, key.public_key(), SERVER_LIFETIME_DAYS)
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        _write(key_path, _key_pem(key), 0o600)
        _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
        return cert_path, key_path

    def sign_agent(
        self, csr_pem: str, lifetime_days: float, expect_uuid: str | None = None
    ) -> Issued:
        """Sign an agent's CSR: subject CN must be a UUID (and ``expect_uuid`` on renewal)."""
        try:
            csr = x509.load_pem_x509_csr(csr_pem.encode())
        except ValueError as exc:
            raise CsrError(f"csr: not a PEM certificate signing request ({exc})") from exc
        if not csr.is_signature_valid:
            raise CsrError("csr: the signature does not match its public key")
        public = csr.public_key()
        if not isinstance(public, ec.EllipticCurvePublicKey) or public.curve.name != "secp256r1":
            raise CsrError("csr: expected an EC P-256 public key")
        cns = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        cn = str(cns[0].value) if len(cns) == 1 else ""
        try:
            agent_uuid = str(uuid.UUID(cn))
        except ValueError as exc:
            raise CsrError(f"csr: subject CN must be the agent's UUID, got {cn!r}") from exc
        if expect_uuid is not None and agent_uuid != expect_uuid:
            raise CsrError(f"csr: subject CN {agent_uuid} is not this agent ({expect_uuid})")
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, agent_uuid)])
        cert = (
            self._builder(subject, public, lifetime_days)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        der = cert.public_bytes(serialization.Encoding.DER)
        return Issued(
            pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
            serial=format(cert.serial_number, "x"),
            fingerprint=der_fingerprint(der),
            uuid=agent_uuid,
            not_after=cert.not_valid_after_utc.timestamp(),
        )

    def foreign(self, pem: str) -> str | None:
        """Why ``pem`` is not a certificate issued by this CA (None when it is)."""
        try:
            cert = x509.load_pem_x509_certificate(pem.encode())
        except ValueError as exc:
            return f"not a PEM certificate ({exc})"
        issuer = cert.issuer.rfc4514_string()
        mine = self.cert.subject.rfc4514_string()
        try:
            cert.verify_directly_issued_by(self.cert)
        except (ValueError, TypeError, InvalidSignature):
            return (
                f"certificate issued by {issuer!r}, not by this site's CA {mine!r} "
                "(a certificate of another site?): register again with a token of this site"
            )
        return None

    # ------------------------------------------------------------------ TLS
    def server_context(self, hostnames: list[str]) -> SSL.Context:
        """Client certificates optional at the TLS layer (registration needs none), verified
        against this CA when given; the receiver refuses pushes without one.

        pyOpenSSL, not ``ssl``: its bundled OpenSSL does the server's mTLS handshake in about
        half the CPU of the distro's (docs/decisions.md)."""
        cert_path, key_path = self.server_cert(hostnames)
        ctx = SSL.Context(SSL.TLS_SERVER_METHOD)
        ctx.set_min_proto_version(SSL.TLS1_2_VERSION)
        ctx.set_options(SSL.OP_NO_COMPRESSION | SSL.OP_NO_RENEGOTIATION)
        ctx.use_certificate_chain_file(str(cert_path))
        ctx.use_privatekey_file(str(key_path))
        ctx.check_privatekey()
        ctx.load_verify_locations(str(self.dir / "ca.pem"))
        ctx.set_verify(SSL.VERIFY_PEER)  # no FAIL_IF_NO_PEER_CERT: optional, verified if sent
        store = ctx.get_cert_store()
        if store is None:  # pragma: no cover - OpenSSL always gives a context a store
            raise RuntimeError("OpenSSL context without a certificate store")
        store.set_flags(NO_CHECK_TIME)  # pyOpenSSL has no name for it
        # Resumption (tickets, on by default) with client certificates needs a session id
        # context, or OpenSSL refuses to resume; the stdlib sets one for us.
        ctx.set_session_id(b"lookout-agent-receiver")
        return ctx

"""Keys, CSRs, fingerprints and TLS contexts of the agent. The server is never trusted blindly:
its certificate must chain to the site CA the user pinned (by fingerprint or file)."""

from __future__ import annotations

import hashlib
import re
import ssl
import uuid
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


class TrustError(Exception):
    """The server's CA is not the one the user pinned."""


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def csr_pem(key: ec.EllipticCurvePrivateKey, agent_uuid: str) -> str:
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, agent_uuid)]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def new_uuid() -> str:
    return str(uuid.uuid4())


def fingerprint(cert_pem: bytes | str) -> str:
    """``SHA256:<hex>`` of the DER encoding of a PEM certificate."""
    data = cert_pem.encode() if isinstance(cert_pem, str) else cert_pem
    der = x509.load_pem_x509_certificate(data).public_bytes(serialization.Encoding.DER)
    return "SHA256:" + hashlib.sha256(der).hexdigest()


def normalize_fingerprint(value: str) -> str:
    """Accept ``SHA256:ab12…``, upper case, or colon-separated hex; raise ValueError otherwise."""
    body = value.strip()
    if body.upper().startswith("SHA256:"):
        body = body[7:]
    body = body.replace(":", "").lower()
    if not re.fullmatch(r"[0-9a-f]{64}", body):
        raise ValueError(f"not a SHA-256 fingerprint: {value!r} (expected SHA256:<64 hex digits>)")
    return "SHA256:" + body


def check_pinned(ca_pem: str, expected: str) -> None:
    """Raise TrustError unless ``ca_pem`` is a CA certificate with the pinned fingerprint."""
    got = fingerprint(ca_pem)
    if got != normalize_fingerprint(expected):
        raise TrustError(
            f"the server's CA has fingerprint {got}, not the {normalize_fingerprint(expected)} "
            "you were given: refusing to trust it (wrong server, or a man in the middle)"
        )
    cert = x509.load_pem_x509_certificate(ca_pem.encode())
    try:
        basic = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound as exc:
        raise TrustError("the pinned certificate is not a CA certificate") from exc
    if not basic.ca:
        raise TrustError("the pinned certificate is not a CA certificate")


def client_context(
    ca_pem: str, cert_file: Path | None = None, key_file: Path | None = None
) -> ssl.SSLContext:
    """Verify the server against the site CA only (not the system store); present our
    certificate when we have one."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cadata=ca_pem)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert_file is not None and key_file is not None:
        ctx.load_cert_chain(str(cert_file), str(key_file))
    return ctx


def fetch_context() -> ssl.SSLContext:
    """For fetching the CA certificate before trusting it: no verification, and nothing
    secret is sent on this connection (the CA is then checked against the pinned hash)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def cert_times(cert_pem: bytes | str) -> tuple[float, float]:
    data = cert_pem.encode() if isinstance(cert_pem, str) else cert_pem
    cert = x509.load_pem_x509_certificate(data)
    return cert.not_valid_before_utc.timestamp(), cert.not_valid_after_utc.timestamp()


TLS_REFUSALS = {
    "TLSV1_ALERT_UNKNOWN_CA": "the server does not know our certificate (issued by another "
    "site?): register again with a token of this site",
    "SSLV3_ALERT_CERTIFICATE_EXPIRED": "our certificate has expired: register again",
    "SSLV3_ALERT_BAD_CERTIFICATE": "the server refused our certificate",
    "TLSV1_ALERT_CERTIFICATE_REQUIRED": "the server wants a client certificate",
    "CERTIFICATE_VERIFY_FAILED": "the server's certificate is not signed by the pinned site CA "
    "(or does not name this server)",
}


def explain(exc: ssl.SSLError) -> str:
    reason = getattr(exc, "reason", None) or ""
    text = TLS_REFUSALS.get(reason)
    if text is None:
        return f"TLS error: {exc}"
    extra = f" ({exc.verify_message})" if isinstance(exc, ssl.SSLCertVerificationError) else ""
    return text + extra

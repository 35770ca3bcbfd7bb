"""The API server's serving certificate, read from a TLS handshake (not from a file on the
control plane): when it expires, and whom it names. Verification as for every API request
(the cluster CA, host name), so what is read is the certificate Lookout trusts."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from urllib.parse import urlsplit

from cryptography import x509

from lookout.checks.kube.view import Certificate
from lookout.sources.kube.errors import BadAnswer, KubeError, Unreachable

HANDSHAKE_TIMEOUT = 10.0


async def peer_certificate(
    url: str, ctx: ssl.SSLContext, within: float = HANDSHAKE_TIMEOUT
) -> Certificate:
    """The leaf certificate ``url``'s server presents."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if parts.scheme != "https":
        raise BadAnswer(f"{url}: not HTTPS, no certificate to read")
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=ctx, server_hostname=host), within
        )
    except (OSError, TimeoutError, ssl.SSLError) as exc:
        raise Unreachable(f"TLS handshake with {host}:{port}: {exc or type(exc).__name__}") from exc
    try:
        tls = writer.get_extra_info("ssl_object")
        der = tls.getpeercert(binary_form=True) if tls is not None else None
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError, TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), 2.0)
    if not der:
        raise BadAnswer(f"TLS handshake with {host}:{port}: no certificate presented")
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError as exc:
        raise BadAnswer(f"certificate of {host}:{port} not readable: {exc}") from exc
    return Certificate(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        not_after=cert.not_valid_after_utc.timestamp(),
    )


__all__ = ["KubeError", "peer_certificate"]

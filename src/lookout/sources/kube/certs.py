"""Serving certificates read from a TLS handshake (not from files on the machines): the API
server's, verified as every API request is (the cluster CA, host name), and the kubelets',
where the site can reach them directly (their InternalIP and kubelet port), read without
verification (kubelets often serve self-signed certificates) only to learn when they expire."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Mapping
from urllib.parse import urlsplit

from cryptography import x509

from lookout.checks.kube.sections import Node
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


KUBELET_PORT = 10250
KUBELET_TIMEOUT = 3.0
"""Seconds a kubelet's handshake may take (most sites cannot reach node addresses at all)."""
KUBELET_TTL = 86400.0
"""Seconds a kubelet certificate read stays good (they change on rotation, rarely)."""
KUBELET_RETRY = 3600.0
"""Seconds before an unreachable kubelet is tried again."""
KUBELET_ROUND = 200
"""Kubelets tried per round at most (a round runs beside the evaluations, never in them)."""
CONCURRENCY = 20

KubeletCert = tuple[float, Certificate | None, str]
"""(when read, the certificate or None, why not)."""


def kubelet_address(node: Node) -> str:
    """``https://<InternalIP>:<kubelet port>``, or '' when the node names no address."""
    st = node.status
    ip = next((a.address for a in st.addresses or () if a.type == "InternalIP"), "")
    if not ip:
        return ""
    ep = st.daemon_endpoints.kubelet_endpoint if st.daemon_endpoints else None
    port = ep.port if ep is not None and ep.port else KUBELET_PORT
    host = f"[{ip}]" if ":" in ip else ip
    return f"https://{host}:{port}"


def _due(entry: KubeletCert | None, now: float) -> bool:
    if entry is None:
        return True
    at, cert, _ = entry
    return now - at >= (KUBELET_TTL if cert is not None else KUBELET_RETRY)


def _unverified() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


async def kubelet_certificates(
    nodes: Mapping[str, Node], known: Mapping[str, KubeletCert], now: float
) -> dict[str, KubeletCert]:
    """Read the certificates of the kubelets whose last read is due (a day after a success,
    an hour after a failure), at most ``KUBELET_ROUND`` per call. Returns the new reads."""
    due = [
        (name, url)
        for name, node in nodes.items()
        if _due(known.get(name), now) and (url := kubelet_address(node))
    ][:KUBELET_ROUND]
    ctx = _unverified()
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(url: str) -> tuple[Certificate | None, str]:
        async with gate:
            try:
                return await peer_certificate(url, ctx, KUBELET_TIMEOUT), ""
            except KubeError as exc:
                return None, str(exc)
            except ValueError as exc:  # a node address or port that is not one
                return None, f"{url}: {exc}"

    answers = await asyncio.gather(*(one(url) for _, url in due))
    return {name: (now, *answer) for (name, _), answer in zip(due, answers, strict=True)}


__all__ = ["KubeError", "kubelet_certificates", "peer_certificate"]

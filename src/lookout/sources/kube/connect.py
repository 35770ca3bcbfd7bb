"""Checking a connection before it is stored: reachable with verified TLS, token accepted,
server version, health, and every permission Lookout needs (SelfSubjectAccessReview).

When the cluster cannot be used, :func:`advice` says why in words and what to do about it,
naming where the token and the CA came from (an :class:`Origin`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from lookout.sources.kube.client import KubeClient, Timeouts
from lookout.sources.kube.credentials import Credentials, Origin
from lookout.sources.kube.errors import (
    BadAnswer,
    Forbidden,
    KubeError,
    ServerError,
    TlsFailure,
    Unauthorized,
    Unreachable,
)
from lookout.sources.kube.rbac import ACCOUNT, NAMESPACE, SECRET, check_permissions
from lookout.sources.kube.resources import Permission, required_permissions

REVIEWS = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
PERMISSION_OF = {
    "GET /version": "get the non-resource URL /version "
    "(every user has it through the ClusterRole system:public-info-viewer)",
    f"POST {REVIEWS}": "create selfsubjectaccessreviews (authorization.k8s.io) "
    "(every authenticated user has it through the ClusterRole system:basic-user)",
}
"""What a 403 on a request of :func:`verify` means, as a permission."""
UNTRUSTED = (2, 7, 18, 19, 20, 21)
"""OpenSSL verification codes of a certificate no given CA vouches for: issuer unknown (2, 20),
signed by another CA of the same name (7: kubeadm and k3s name every cluster CA alike),
self-signed (18, 19), cannot verify the first certificate (21)."""
NAME_MISMATCH = (62, 64)
"""The certificate names neither the host name (62) nor the IP address (64) connected to."""
EXPIRED, NOT_YET_VALID = 10, 9
GET_TOKEN = (
    f"kubectl -n {NAMESPACE} get secret {SECRET} -o jsonpath='{{.data.token}}' "
    "| base64 -d > lookout.token"
)
GET_CA = (
    f"kubectl -n {NAMESPACE} get secret {SECRET} -o jsonpath='{{.data.ca\\.crt}}' "
    "| base64 -d > cluster-ca.crt"
)


@dataclass
class Verification:
    version: str = ""
    health: dict[str, tuple[int | None, str]] = field(default_factory=dict)
    permissions: list[tuple[Permission, bool, str]] = field(default_factory=list)
    failure: KubeError | None = None
    """Why the cluster could not be used at all (None when it could)."""

    @property
    def error(self) -> str:
        return str(self.failure) if self.failure else ""

    @property
    def missing(self) -> list[Permission]:
        return [p for p, ok, _ in self.permissions if not ok]

    @property
    def ok(self) -> bool:
        return self.failure is None and not self.missing


async def verify(
    creds: Credentials, timeouts: Timeouts = Timeouts(connect=10, read=15)
) -> Verification:
    out = Verification()
    client = KubeClient(creds, timeouts=timeouts)
    try:
        out.version = await client.version()
        for path in ("/readyz", "/livez"):
            out.health[path] = await client.health(path)
        perms = required_permissions()
        out.permissions = await check_permissions(client, perms)
    except KubeError as exc:
        out.failure = exc
    finally:
        await client.aclose()
    return out


@dataclass(frozen=True, slots=True)
class Advice:
    """What went wrong (one line) and what to do (a line each)."""

    problem: str
    steps: list[str]


def advice(exc: KubeError, creds: Credentials, origin: Origin) -> Advice:
    """Why ``creds`` could not be used, in words, and what to do about it."""
    if isinstance(exc, Unauthorized):
        return _unauthorized(creds, origin)
    if isinstance(exc, Forbidden):
        return _forbidden(exc)
    if isinstance(exc, TlsFailure):
        return _tls(exc, creds, origin)
    if isinstance(exc, Unreachable):
        return _unreachable(exc, creds)
    if isinstance(exc, BadAnswer):
        return Advice(
            f"{creds.server} does not answer like a Kubernetes API server ({exc})",
            ["give the API server's URL (`kubectl cluster-info` shows it), not a proxy's"],
        )
    if isinstance(exc, ServerError):
        return Advice(f"the API server failed: {exc}", ["try again when it is healthy"])
    return Advice(str(exc), [])


def _unauthorized(creds: Credentials, origin: Origin) -> Advice:
    if not creds.token:
        return Advice(
            "the API server refused the client certificate (401 Unauthorized)",
            [
                f"the certificate came from {origin.kubeconfig or 'the kubeconfig'}: "
                "it may have expired or been issued by another cluster's CA",
                "Lookout is best connected with a ServiceAccount token: "
                "lookout kube rbac | kubectl apply -f -",
            ],
        )
    return Advice(
        "the API server refused the token (401 Unauthorized): it is wrong, expired, "
        "or its ServiceAccount was deleted",
        [
            f"the token came from {origin.token or 'the command line'}: check that it is "
            f"the current token of ServiceAccount {NAMESPACE}/{ACCOUNT}; read it again with:",
            GET_TOKEN,
            "if the ServiceAccount or its token Secret is gone, create them again: "
            "lookout kube rbac | kubectl apply -f -",
        ],
    )


def _forbidden(exc: Forbidden) -> Advice:
    needed = PERMISSION_OF.get(exc.request)
    what = needed or f"{exc.request or 'do this'}"
    return Advice(
        f"the token is accepted but may not {what}",
        [
            f"the API server said: {str(exc).removeprefix(exc.request + ': ')}",
            "ask the cluster's admin to grant it"
            if needed
            else "apply the read-only role: lookout kube rbac | kubectl apply -f -",
        ],
    )


def _tls(exc: TlsFailure, creds: Credentials, origin: Origin) -> Advice:
    host = httpx.URL(creds.server).host
    if exc.code in NAME_MISMATCH:
        return Advice(
            f"the API server's certificate is not valid for the name {host} ({exc.reason})",
            ["connect with a name or address the certificate lists (the kubeconfig's server)"],
        )
    if exc.code in (EXPIRED, NOT_YET_VALID):
        return Advice(
            f"the API server's certificate is outside its validity ({exc.reason})",
            ["renew the API server's certificate, or check this machine's clock"],
        )
    if exc.code not in UNTRUSTED:
        return Advice(f"the TLS handshake with the API server failed: {exc.reason}", [])
    if creds.ca_data:
        return Advice(
            f"the API server's certificate is not signed by the CA from {origin.ca} ({exc.reason})",
            [f"pass the CA of this cluster with --ca-file: {GET_CA}"],
        )
    steps = [f"pass the cluster's CA with --ca-file: {GET_CA}"]
    if origin.kubeconfig:
        steps.append(f"or add certificate-authority-data to the cluster of {origin.kubeconfig}")
    else:
        steps.append("or connect with --kubeconfig: its certificate-authority-data is used")
    return Advice(
        "the API server's certificate is not signed by a CA this machine trusts "
        f"({exc.reason}), and no cluster CA was given",
        steps,
    )


def _unreachable(exc: Unreachable, creds: Credentials) -> Advice:
    why = str(exc).removeprefix(exc.request + ": ") if exc.request else str(exc)
    return Advice(
        f"cannot reach {creds.server}: {why}",
        [
            "check the URL (`kubectl cluster-info` shows it) and that the API server is up "
            "and reachable from this machine (firewall, VPN)"
        ],
    )

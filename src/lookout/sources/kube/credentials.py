"""How to reach a cluster: server URL, bearer token, CA, client certificate; from a
kubeconfig (contexts, token, tokenFile, certificate-authority[-data], client certs) or flags.
:func:`problems` says, by field, what would make them fail at the first connect: checked
before a cluster is stored."""

from __future__ import annotations

import base64
import os
import re
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from lookout.errors import ConfigError

B64TOKEN = re.compile(r"[A-Za-z0-9._~+/-]+=*")
"""RFC 6750's ``b64token``: what a bearer token may be made of."""
SPKI = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo


@dataclass(frozen=True, slots=True)
class Credentials:
    server: str
    token: str = ""
    ca_data: str = ""
    """PEM of the CA that signed the API server's certificate ('' = system trust store)."""
    client_cert: str = ""
    client_key: str = ""
    insecure: bool = False
    """Skip TLS verification (only when the user asked for it, loudly)."""

    def __repr__(self) -> str:  # never print secrets
        return f"Credentials(server={self.server!r}, token={'***' if self.token else ''!r})"

    def ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cadata=self.ca_data or None)
        if self.insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if self.client_cert and self.client_key:
            _load_client_cert(ctx, self.client_cert, self.client_key)
        return ctx


@dataclass(frozen=True, slots=True)
class Origin:
    """Where credentials came from, in words for advice ("check the token file …")."""

    token: str
    """``--token-file /p``, ``kubeconfig /k, user u (token)``, … ('' = no token)."""
    ca: str
    """``--ca-file /p``, ``kubeconfig /k (certificate-authority-data)``; '' = system trust store."""
    kubeconfig: str = ""
    """The kubeconfig and context ('' = flags)."""

    @property
    def summary(self) -> str:
        """One line for "Checking SERVER (…)": never the server URL again."""
        if self.kubeconfig:
            return self.kubeconfig
        return ", ".join(
            (f"token from {self.token}", f"CA from {self.ca}" if self.ca else "system CAs")
        )


def _load_client_cert(ctx: ssl.SSLContext, cert: str, key: str) -> None:
    """``load_cert_chain`` only reads files: write both to a private temp dir, load, remove."""
    with tempfile.TemporaryDirectory() as tmp:
        cert_path, key_path = Path(tmp, "cert.pem"), Path(tmp, "key.pem")
        for path, text in ((cert_path, cert), (key_path, key)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(text)
        ctx.load_cert_chain(cert_path, key_path)


def problems(creds: Credentials) -> list[tuple[str, str]]:
    """(field, what is wrong) for each part of ``creds`` that cannot be used: the server URL,
    the token's characters, PEMs that do not parse or that OpenSSL refuses, a key that does not
    belong to its certificate. Never quotes a secret."""
    out: list[tuple[str, str]] = []
    why = url_problem(creds.server)
    if why:
        out.append(("server", why))
    why = token_problem(creds.token) if creds.token else None
    if why:
        out.append(("token", why))
    if creds.ca_data:
        why = _ca_problem(creds.ca_data)
        if why:
            out.append(("ca_data", why))
    if bool(creds.client_cert) != bool(creds.client_key):
        missing = "client_key" if creds.client_cert else "client_cert"
        out.append((missing, f"{missing} is needed with {_other(missing)}"))
    elif creds.client_cert:
        out += _client_problems(creds.client_cert, creds.client_key)
    return out


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be an http(s) base URL, or None."""
    try:
        parsed = httpx.URL(url)
        port = parsed.port
    except (httpx.InvalidURL, ValueError) as exc:
        return f"not a valid URL: {exc}"
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return "expected http(s)://HOST[:PORT][/PATH]"
    if port is not None and not 0 < port < 65536:
        return f"port {port} is not 1-65535"
    return None


def token_problem(token: str) -> str | None:
    """Why ``token`` cannot go into an ``Authorization: Bearer`` header, or None."""
    if B64TOKEN.fullmatch(token):
        return None
    return (
        "a bearer token consists of ASCII letters, digits and - . _ ~ + / (then '=' padding), "
        "without spaces or control characters"
    )


def _other(field: str) -> str:
    return "client_cert" if field == "client_key" else "client_key"


def _ca_problem(pem: str) -> str | None:
    try:
        x509.load_pem_x509_certificates(pem.encode())
        ssl.create_default_context(cadata=pem)
    except (ValueError, ssl.SSLError) as exc:
        return f"not a PEM certificate (or bundle) OpenSSL accepts: {_short(exc)}"
    return None


def _client_problems(cert_pem: str, key_pem: str) -> list[tuple[str, str]]:
    try:
        cert = x509.load_pem_x509_certificates(cert_pem.encode())[0]
        cert_spki = cert.public_key().public_bytes(*SPKI)
    except (ValueError, UnsupportedAlgorithm) as exc:
        return [("client_cert", f"not a PEM certificate: {_short(exc)}")]
    try:
        key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    except TypeError:
        return [("client_key", "the key is encrypted; give it without a passphrase")]
    except (ValueError, UnsupportedAlgorithm) as exc:
        return [("client_key", f"not a PEM private key: {_short(exc)}")]
    if key.public_key().public_bytes(*SPKI) != cert_spki:
        return [("client_key", "the key does not belong to client_cert")]
    try:
        _load_client_cert(ssl.create_default_context(), cert_pem, key_pem)
    except (ssl.SSLError, ValueError) as exc:
        return [("client_cert", f"OpenSSL refuses the certificate and key: {_short(exc)}")]
    return []


def _short(exc: Exception) -> str:
    """The first line of a library's message (cryptography's span several)."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _pick(items: list[Any], name: str, what: str, source: Path) -> dict[str, Any]:
    for item in items or []:
        if isinstance(item, dict) and item.get("name") == name:
            value = item.get(what)
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: {what} {name!r} has no {what} section")
            return value
    raise ConfigError(f"{source}: no {what} named {name!r}")


def _data_or_file(section: dict[str, Any], key: str, source: Path) -> str:
    """``<key>-data`` (base64) or ``<key>`` (a path, relative to the kubeconfig)."""
    data = section.get(f"{key}-data")
    if data:
        try:
            return base64.b64decode(data, validate=True).decode()
        except ValueError as exc:
            raise ConfigError(f"{source}: {key}-data is not valid base64: {exc}") from exc
    path = section.get(key)
    if path:
        p = Path(path) if Path(path).is_absolute() else source.parent / path
        try:
            return p.read_text()
        except OSError as exc:
            raise ConfigError(f"{source}: {key} {p}: {exc.strerror}") from exc
    return ""


def from_kubeconfig(path: Path, context: str | None = None) -> tuple[str, Credentials]:
    """(context name, credentials) of ``context`` (default: current-context) in ``path``."""
    name, creds, _ = load_kubeconfig(path, context)
    return name, creds


def load_kubeconfig(path: Path, context: str | None = None) -> tuple[str, Credentials, Origin]:
    """(context name, credentials, where each part came from) of ``context``."""
    try:
        doc = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read kubeconfig {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"kubeconfig {path} is not valid YAML: {exc}") from exc
    if not isinstance(doc, dict):
        raise ConfigError(f"kubeconfig {path} is not a mapping")
    name = context or doc.get("current-context")
    if not name:
        raise ConfigError(f"{path}: no current-context; name one with --context")
    ctx = _pick(doc.get("contexts", []), name, "context", path)
    cluster = _pick(doc.get("clusters", []), ctx.get("cluster", ""), "cluster", path)
    user = _pick(doc.get("users", []), ctx.get("user", ""), "user", path) if ctx.get("user") else {}
    server = cluster.get("server")
    if not server:
        raise ConfigError(f"{path}: cluster {ctx.get('cluster')!r} has no server")
    token = user.get("token", "")
    if not token and user.get("tokenFile"):
        token = read_token_file(Path(user["tokenFile"]))
    has_cert = user.get("client-certificate-data") or user.get("client-certificate")
    if ("exec" in user or "auth-provider" in user) and not token and not has_cert:
        raise ConfigError(
            f"{path}: user {ctx.get('user')!r} authenticates with an exec/auth-provider "
            "plugin; Lookout needs a ServiceAccount token (see `lookout kube rbac`)"
        )
    creds = Credentials(
        server=str(server).rstrip("/"),
        token=token,
        ca_data=_data_or_file(cluster, "certificate-authority", path),
        client_cert=_data_or_file(user, "client-certificate", path),
        client_key=_data_or_file(user, "client-key", path),
        insecure=bool(cluster.get("insecure-skip-tls-verify", False)),
    )
    return name, creds, _kubeconfig_origin(path, name, ctx.get("user", ""), user, cluster)


def _kubeconfig_origin(
    path: Path, context: str, user_name: str, user: dict[str, Any], cluster: dict[str, Any]
) -> Origin:
    where = f"kubeconfig {path}"
    if user.get("token"):
        token = f"{where}, user {user_name!r} (token)"
    elif user.get("tokenFile"):
        token = f"the tokenFile {user['tokenFile']} of user {user_name!r} in {where}"
    else:
        token = ""
    ca = ""
    for key in ("certificate-authority-data", "certificate-authority"):
        if cluster.get(key):
            ca = f"{where} ({key})"
            break
    return Origin(token=token, ca=ca, kubeconfig=f"{where}, context {context}")


def read_token_file(path: Path) -> str:
    try:
        token = path.read_text().strip()
    except OSError as exc:
        raise ConfigError(f"cannot read token file {path}: {exc.strerror}") from exc
    if not token:
        raise ConfigError(f"token file {path} is empty")
    why = token_problem(token)
    if why:
        raise ConfigError(f"token file {path}: {why}")
    return token

"""Talk to the receiver over HTTPS (stdlib ``http.client``): register, renew, push, deregister."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

from lookout_agent import __version__, tls
from lookout_agent import wire as w
from lookout_agent.state import AgentState, StateDir


class AgentError(Exception):
    """Something the user must read: a refusal, a trust problem, an unreachable server.
    ``tls_refused``: the connection died in or right after the TLS handshake."""

    def __init__(self, message: str, tls_refused: bool = False) -> None:
        super().__init__(message)
        self.tls_refused = tls_refused


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


def _split(server: str) -> tuple[str, int]:
    parts = urlsplit(server if "://" in server else f"https://{server}")
    if parts.scheme != "https":
        raise AgentError(f"--server must be an https:// URL, got {server!r}")
    if not parts.hostname:
        raise AgentError(f"--server has no host name: {server!r}")
    return parts.hostname, parts.port or 8443


ADDRESSES: dict[tuple[str, int], tuple[str, int]] = {}
"""Where to connect for a server name and port, when not where the name resolves to."""


def connect_via(server: str, address: str | None) -> None:
    """Connect to ``address`` (HOST[:PORT], the server's port by default) for ``server``,
    as curl's --connect-to: the TLS server name (SNI) and the certificate check keep the
    server's name, so a site behind the site manager's front door is reached before (or
    without) DNS naming it."""
    host, port = _split(server)
    if not address:
        ADDRESSES.pop((host, port), None)
        return
    to, sep, to_port = address.rpartition(":")
    if not sep or to.endswith(":") or not to_port.isdigit():
        to, to_port = address, str(port)
    if not to or not 0 < int(to_port) < 65536:
        raise AgentError(f"--connect must be HOST or HOST:PORT, got {address!r}")
    ADDRESSES[(host, port)] = (to.strip("[]"), int(to_port))


class _Connection(http.client.HTTPSConnection):
    """An HTTPS connection that can resume the TLS session of the previous one to the same
    server and identity (a push every 60 s then costs the server no certificate verification
    or signature; the receiver still checks the identity on every request)."""

    sessions: ClassVar[dict[tuple[str, int, ssl.SSLContext], ssl.SSLSession]] = {}
    resume = False
    tls_sock: ssl.SSLSocket | None = None

    def _key(self) -> tuple[str, int, ssl.SSLContext]:
        return (self.host, self.port, self._context)  # type: ignore[attr-defined]

    def connect(self) -> None:
        address = ADDRESSES.get((self.host, self.port))
        if address is None:
            http.client.HTTPConnection.connect(self)
        else:
            self.sock = socket.create_connection(address, self.timeout)
        session = self.sessions.get(self._key()) if self.resume else None
        ctx: ssl.SSLContext = self._context  # type: ignore[attr-defined]
        self.sock = self.tls_sock = ctx.wrap_socket(
            self.sock, server_hostname=self.host, session=session
        )

    def remember_session(self) -> None:
        """Call after the response head (TLS 1.3 tickets follow the handshake) and before the
        body is read to the end (http.client then closes the socket)."""
        sock = self.tls_sock
        if self.resume and sock is not None and sock.session is not None:
            self.sessions[self._key()] = sock.session


def request(
    server: str, ctx: ssl.SSLContext, method: str, path: str, body: bytes | None = None,
    timeout: float = 30.0, resume: bool = False,
) -> Answer:  # fmt: skip
    host, port = _split(server)
    conn = _Connection(host, port, context=ctx, timeout=timeout)
    conn.resume = resume
    try:
        headers = {"User-Agent": f"lookout-agent/{__version__}", "Connection": "close"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        conn.remember_session()
        raw = resp.read()
    except ssl.SSLError as exc:
        raise AgentError(tls.explain(exc), tls_refused=True) from exc
    except (http.client.RemoteDisconnected, ConnectionResetError) as exc:
        raise AgentError(f"{server} closed the connection: {exc}", tls_refused=True) from exc
    except (OSError, http.client.HTTPException) as exc:
        raise AgentError(f"cannot reach {server}: {exc}") from exc
    finally:
        conn.close()
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        data = {"detail": raw[:200].decode(errors="replace")}
    return Answer(resp.status, data if isinstance(data, dict) else {}, dict(resp.getheaders()))


def refusal(ans: Answer) -> AgentError:
    detail = ans.body.get("detail") or ans.body.get("title") or "no detail"
    retry = ans.headers.get("Retry-After")
    more = f" (retry after {retry} s)" if retry else ""
    return AgentError(f"server refused ({ans.status}): {detail}{more}")


def fetch_ca(server: str, timeout: float = 30.0) -> str:
    """The site CA as the server offers it; NOT trusted until checked against a pin."""
    ans = request(server, tls.fetch_context(), "GET", "/ca", timeout=timeout)
    pem = ans.body.get("ca")
    if ans.status != 200 or not isinstance(pem, str):
        raise AgentError(f"{server} did not offer a CA certificate (status {ans.status})")
    return pem


def register(
    sd: StateDir, server: str, token: str, ca_pem: str, interval: float = 60.0
) -> AgentState:
    """Make a key and CSR, have the receiver sign it, store everything (key 0600)."""
    key = tls.new_key()
    agent_uuid = tls.new_uuid()
    import socket

    req = w.RegisterRequest(
        token=token, csr=tls.csr_pem(key, agent_uuid), hostname=socket.gethostname()
    )
    ans = request(server, tls.client_context(ca_pem), "POST", "/register", w.to_json(req))
    if ans.status != 200:
        raise refusal(ans)
    cert = _certificate(ans.body)
    tls.check_pinned(cert.ca, tls.fingerprint(ca_pem))  # the answer names the same CA
    sd.store_identity(tls.key_pem(key), cert.certificate, ca_pem)
    state = AgentState(
        server=server, host=cert.host, uuid=agent_uuid, site=cert.site,
        not_after=cert.not_after, registered_at=time.time(), interval=interval,
    )  # fmt: skip
    sd.save(state)
    return state


def _certificate(body: dict[str, Any]) -> w.Certificate:
    try:
        return w.Certificate(**body)
    except TypeError as exc:
        raise AgentError(f"unexpected answer from the server: {exc}") from exc


_contexts: dict[tuple[str, int], ssl.SSLContext] = {}


def mtls(sd: StateDir) -> ssl.SSLContext:
    """The mTLS context of the current identity (kept while the certificate is unchanged, so
    TLS sessions can be resumed across pushes)."""
    key = (str(sd.cert.resolve()), sd.cert.stat().st_mtime_ns)
    ctx = _contexts.get(key)
    if ctx is None:
        ctx = _contexts[key] = tls.client_context(sd.ca.read_text(), sd.cert, sd.key)
    return ctx


def mtls_request(sd: StateDir, server: str, method: str, path: str, body: bytes) -> Answer:
    """A request with our certificate. A TLS server cannot explain why it drops a handshake
    (an alert such as "unknown CA" is all it sends), so when it does, ask the receiver's
    ``/diagnose`` what is wrong with our (public) certificate and report that."""
    try:
        return request(server, mtls(sd), method, path, body, resume=True)
    except AgentError as exc:
        if not exc.tls_refused:
            raise
        why = diagnose(sd, server)
        if why is None:
            raise
        raise AgentError(f"the server refused our certificate: {why}") from exc


def diagnose(sd: StateDir, server: str) -> str | None:
    body = json.dumps({"certificate": sd.cert.read_text()}).encode()
    try:
        ans = request(server, tls.client_context(sd.ca.read_text()), "POST", "/diagnose", body)
    except AgentError:
        return None
    if ans.status == 200:
        return None
    detail = ans.body.get("detail")
    return str(detail) if detail else None


def push(sd: StateDir, state: AgentState, payload: w.Push) -> w.PushAnswer:
    ans = mtls_request(sd, state.server, "POST", "/push", w.to_json(payload))
    if ans.status != 200:
        raise refusal(ans)
    b = ans.body
    return w.PushAnswer(
        accepted=int(b.get("accepted", 0)),
        discovered=int(b.get("discovered", 0)),
        renew=bool(b.get("renew", False)),
    )


def renew(sd: StateDir, state: AgentState) -> AgentState:
    """A new key and certificate over the current mTLS identity (same UUID)."""
    key = tls.new_key()
    req = w.RenewRequest(csr=tls.csr_pem(key, state.uuid))
    ans = mtls_request(sd, state.server, "POST", "/renew", w.to_json(req))
    if ans.status != 200:
        raise refusal(ans)
    cert = _certificate(ans.body)
    sd.store_identity(tls.key_pem(key), cert.certificate, sd.ca.read_text())
    state.not_after = cert.not_after
    sd.save(state)
    return state


def deregister(sd: StateDir, state: AgentState) -> None:
    ans = mtls_request(sd, state.server, "POST", "/deregister", b"{}")
    if ans.status not in (200, 403):  # 403: the server forgot us already
        raise refusal(ans)


def check_connection(sd: StateDir, state: AgentState) -> str | None:
    """None when the receiver accepts our certificate over mTLS; otherwise why not."""
    body = json.dumps({"certificate": sd.cert.read_text()}).encode()
    try:
        ans = mtls_request(sd, state.server, "POST", "/diagnose", body)
    except AgentError as exc:
        return str(exc)
    if ans.status != 200:
        return str(refusal(ans))
    return None


def needs_renewal(sd: StateDir, now: float) -> bool:
    """Past two thirds of the certificate's life."""
    start, end = tls.cert_times(sd.cert.read_bytes())
    return now >= start + (end - start) * 2 / 3

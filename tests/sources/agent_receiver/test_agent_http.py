"""The receiver's lean HTTP/1.1 server on odd requests, over real TLS."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest
from agentsite import AgentSite, garbage_handshake, handshake_failures
from lookout_agent import client, tls

pytestmark = pytest.mark.integration


def raw(site: AgentSite, data: bytes) -> bytes:
    url = urlsplit(site.receiver)
    ctx = tls.client_context(client.fetch_ca(site.receiver))
    with (
        socket.create_connection((url.hostname, url.port), timeout=10) as s,
        ctx.wrap_socket(s, server_hostname=url.hostname) as t,
    ):
        t.sendall(data)
        out = b""
        while chunk := t.recv(65536):
            out += chunk
        return out


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GARBAGE\r\n\r\n", b"400"),
        (b"POST /push HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", b"411"),
        (b"POST /push HTTP/1.1\r\nContent-Length: -5\r\n\r\n", b"400"),
        (b"POST /push HTTP/1.1\r\nContent-Length: x\r\n\r\n", b"400"),
        (b"POST /push HTTP/1.1\r\nContent-Length: 999999999\r\n\r\n", b"413"),
        (b"GET /push HTTP/1.1\r\nConnection: close\r\n\r\n", b"405"),
        (b"GET /nowhere HTTP/1.1\r\nConnection: close\r\n\r\n", b"404"),
        (b"GET /x HTTP/1.1\r\nX: " + b"a" * 20000 + b"\r\n\r\n", b"431"),
    ],
)
def test_odd_requests_get_an_answer(
    agent_site: AgentSite, request_bytes: bytes, status: bytes
) -> None:
    answer = raw(agent_site, request_bytes)
    assert answer.split(b" ", 2)[1] == status, answer[:200]
    assert b"application/problem+json" in answer


def test_keep_alive_serves_several_requests(agent_site: AgentSite) -> None:
    one = b"GET /ca HTTP/1.1\r\n\r\n"
    answer = raw(agent_site, one + one + b"GET /ca HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert answer.count(b"HTTP/1.1 200 OK") == 3


def test_failed_handshakes_are_counted(agent_site: AgentSite) -> None:
    before = handshake_failures(agent_site)
    garbage_handshake(agent_site)
    assert handshake_failures(agent_site) == before + 1

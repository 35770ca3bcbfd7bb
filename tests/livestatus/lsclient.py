"""A minimal Livestatus client over the Unix socket (raw bytes, as the protocol is)."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any


def send(path: Path, request: bytes, *, timeout: float = 10.0, half_close: bool = True) -> bytes:
    """Send ``request`` and read until the server closes."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(timeout)
        s.connect(str(path))
        s.sendall(request)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def read_fixed16(s: socket.socket) -> tuple[int, bytes]:
    head = _exactly(s, 16)
    code, length = int(head[:3]), int(head[4:15])
    assert head[3:4] == b" ", head
    assert head[15:16] == b"\n", head
    return code, _exactly(s, length)


def _exactly(s: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise ConnectionError(f"closed after {len(out)} of {n} bytes")
        out += chunk
    return out


def query(path: Path, lql: str) -> tuple[int, bytes]:
    """One request with ``ResponseHeader: fixed16``: (status code, body)."""
    text = lql.rstrip("\n") + "\nResponseHeader: fixed16\n\n"
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(str(path))
        s.sendall(text.encode())
        return read_fixed16(s)


def rows(path: Path, lql: str) -> list[list[Any]]:
    """JSON rows of a query that must succeed."""
    code, body = query(path, lql.rstrip("\n") + "\nOutputFormat: json")
    assert code == 200, body
    out: list[list[Any]] = json.loads(body)
    return out

"""The server name (SNI) of a TLS ClientHello, read without taking part in TLS (RFC 8446 4.1.2,
RFC 6066 3). Neither ``cryptography`` nor pyOpenSSL parse a ClientHello on their own (they
only see SNI inside a handshake they terminate), so this reads the little that is needed:
handshake records, the ClientHello's fixed fields, and the ``server_name`` extension. Every
length is checked against what is left before it is used; anything else is a ``HelloError``.
The bytes are only looked at: the caller forwards them unchanged.
"""

from __future__ import annotations

import re

RECORD_HEADER = 5
HANDSHAKE = 22
CLIENT_HELLO = 1
MAX_RECORD = 2**14 + 2048
"""The largest TLSPlaintext fragment (2^14) with room for what some stacks send."""
MAX_HELLO = 64 * 1024
"""The largest ClientHello accepted (post-quantum key shares make them 1-2 KiB today)."""
SERVER_NAME = 0
HOST_NAME = 0
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class HelloError(ValueError):
    """Not a TLS ClientHello we can route: the connection is closed."""


class _Reader:
    def __init__(self, data: bytes, what: str) -> None:
        self.data = data
        self.pos = 0
        self.what = what

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise HelloError(f"{self.what}: {n} bytes announced, {self.left} left")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def num(self, size: int) -> int:
        return int.from_bytes(self.take(size), "big")

    def vector(self, size: int) -> _Reader:
        return _Reader(self.take(self.num(size)), self.what)

    @property
    def left(self) -> int:
        return len(self.data) - self.pos


def handshake(data: bytes) -> bytes | None:
    """The ClientHello handshake message (header and body) from the start of a connection's
    bytes, joined across records; None while more bytes are needed."""
    message = bytearray()
    pos = 0
    while True:
        if len(data) - pos < RECORD_HEADER:
            return None
        kind, major, length = data[pos], data[pos + 1], int.from_bytes(data[pos + 3 : pos + 5])
        if kind != HANDSHAKE:
            raise HelloError(f"not a TLS handshake record (content type {kind})")
        if major != 3:
            raise HelloError(f"not TLS (record version {major}.{data[pos + 2]})")
        if not 0 < length <= MAX_RECORD:
            raise HelloError(f"record length {length} out of range")
        if len(data) - pos - RECORD_HEADER < length:
            return None
        message += data[pos + RECORD_HEADER : pos + RECORD_HEADER + length]
        pos += RECORD_HEADER + length
        if len(message) >= 4:
            if message[0] != CLIENT_HELLO:
                raise HelloError(f"first handshake message is type {message[0]}, not ClientHello")
            size = int.from_bytes(message[1:4])
            if size > MAX_HELLO:
                raise HelloError(f"ClientHello of {size} bytes is too large")
            if len(message) >= 4 + size:
                return bytes(message[: 4 + size])


def server_name(data: bytes) -> str | None:
    """The host name a complete ClientHello (``handshake``'s result) asks for; None when it
    names none. Raises ``HelloError`` for anything malformed."""
    r = _Reader(data, "ClientHello")
    r.take(4)  # type and length: checked by handshake()
    r.take(2 + 32)  # legacy_version, random
    if r.vector(1).left > 32:
        raise HelloError("ClientHello: session id longer than 32 bytes")
    suites = r.vector(2)
    if suites.left == 0 or suites.left % 2:
        raise HelloError("ClientHello: bad cipher suite list")
    if r.vector(1).left == 0:
        raise HelloError("ClientHello: no compression methods")
    if r.left == 0:
        return None  # no extensions at all
    extensions = r.vector(2)
    if r.left:
        raise HelloError("ClientHello: bytes after the extensions")
    seen: set[int] = set()
    found: str | None = None
    while extensions.left:
        kind = extensions.num(2)
        body = extensions.vector(2)
        if kind in seen:
            raise HelloError(f"ClientHello: extension {kind} twice")
        seen.add(kind)
        if kind == SERVER_NAME:
            found = _host_name(body)
    return found


def _host_name(ext: _Reader) -> str:
    names = ext.vector(2)
    if ext.left:
        raise HelloError("server_name: bytes after the name list")
    host: str | None = None
    while names.left:
        kind = names.num(1)
        value = names.vector(2).data
        if kind == HOST_NAME:
            if host is not None:
                raise HelloError("server_name: two host names")
            host = _dns_name(value)
    if host is None:
        raise HelloError("server_name: no host name")
    return host


def _dns_name(value: bytes) -> str:
    try:
        name = value.decode("ascii").lower()
    except UnicodeDecodeError:
        raise HelloError("server_name: not ASCII") from None
    if not 0 < len(name) <= 253 or not all(_LABEL.match(p) for p in name.split(".")):
        raise HelloError(f"server_name: {name[:80]!r} is not a DNS name")
    return name

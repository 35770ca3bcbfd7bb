"""Frames between an ingest front and the site, over a socket pair the site makes and the front
inherits (so nothing else can connect): a 4-byte big-endian length and a msgpack body. Requests
carry ids, so one link carries many requests at once and answers come back in any order.

Connections a front does not serve go to the site whole — the socket's descriptor and the bytes
already read — over a second, datagram socket pair (:func:`send_connection`).
"""

from __future__ import annotations

import socket

import msgspec

from lookout.sources.agent_receiver.ipc import HEADER
from lookout.web.api.ingest_items import Prepared

PIECE = 32 * 1024
"""Bytes of a handed-over connection's buffer per datagram (under every default socket limit)."""


class Hello(msgspec.Struct, array_like=True, tag="hello"):
    """The front's first frame: it is listening."""

    pid: int


class Gate(msgspec.Struct, array_like=True, tag="gate"):
    """May this caller submit results? Asked once per ``ttl`` per token and address."""

    id: int
    authorization: str
    peer: str
    forwarded_for: str | None = None


class Batch(msgspec.Struct, array_like=True, tag="batch"):
    """Bodies the front decoded and validated (the requests that arrived together), with the
    id of each: the site checks them against live state, applies and journals them as one
    input, and answers each id."""

    ids: list[int]
    prepared: list[Prepared]


class Answer(msgspec.Struct, array_like=True):
    """The site's answer. For a :class:`Gate`, status 0 means "go on" for ``ttl`` seconds."""

    id: int
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = []
    ttl: float = 0.0


ToSite = Hello | Gate | Batch

to_site = msgspec.msgpack.Decoder(ToSite)
to_front = msgspec.msgpack.Decoder(Answer)


def send_connection(channel: socket.socket, fd: int, data: bytes) -> None:
    """Hand a client connection to the site: the descriptor with the total length of ``data``
    and its first piece, then the rest in pieces (a datagram pair keeps them in order)."""
    first = data[:PIECE]
    socket.send_fds(channel, [HEADER.pack(len(data)) + first], [fd])
    for at in range(len(first), len(data), PIECE):
        channel.send(data[at : at + PIECE])


class Receiver:
    """The site's end of a front's datagram pair: whole connections, with their bytes."""

    def __init__(self, channel: socket.socket) -> None:
        self.channel = channel
        self._sock: socket.socket | None = None
        self._want = 0
        self._data = bytearray()

    def receive(self) -> list[tuple[socket.socket, bytes]]:
        """What arrived (non-blocking): connections complete with their buffered bytes."""
        done: list[tuple[socket.socket, bytes]] = []
        while True:
            try:
                msg, fds, _, _ = socket.recv_fds(self.channel, PIECE + HEADER.size, 4)
            except (BlockingIOError, InterruptedError):
                return done
            if not msg and not fds:
                return done  # the front closed its end
            if fds:
                for extra in fds[1:]:
                    socket.close(extra)
                if self._sock is not None:  # a half-sent connection: the front died mid-way
                    self._sock.close()
                self._sock = socket.socket(fileno=fds[0])
                (self._want,) = HEADER.unpack(msg[: HEADER.size])
                self._data = bytearray(msg[HEADER.size :])
            elif self._sock is not None:
                self._data += msg
            if self._sock is not None and len(self._data) >= self._want:
                done.append((self._sock, bytes(self._data)))
                self._sock = None
                self._data = bytearray()

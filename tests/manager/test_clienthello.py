"""The ClientHello reader of the agent port: real ClientHellos made by OpenSSL, built ones with
any extensions and record splits (Hypothesis), and any bytes at all only ever give a name,
"more bytes", or a HelloError."""

from __future__ import annotations

import ssl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lookout.manager.clienthello import HelloError, handshake, server_name


def openssl_hello(name: str | None) -> bytes:
    """The first flight of a real TLS client (Python's ssl over memory BIOs)."""
    ctx = ssl.create_default_context()
    if name is None:
        ctx.check_hostname = False
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname=name)
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


def name_of(data: bytes) -> str | None:
    message = handshake(data)
    assert message is not None
    return server_name(message)


@pytest.mark.parametrize("name", ["alpha.agents.localhost", "A-1.Agents.Example.COM"])
def test_the_name_of_a_real_client_hello_is_read(name: str) -> None:
    data = openssl_hello(name)
    assert name_of(data) == name.lower()
    for cut in (0, 1, 4, 5, 6, 40, len(data) - 1):
        assert handshake(data[:cut]) is None  # more bytes needed, never a wrong answer


def test_a_client_hello_without_a_name_names_none() -> None:
    assert name_of(openssl_hello(None)) is None


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "not a TLS handshake record"),
        (b"\x16\x02\x00\x00\x05hello", "not TLS"),
        (b"\x16\x03\x01\xff\xff", "record length"),
        (b"\x16\x03\x01\x00\x04\x02\x00\x00\x00", "not ClientHello"),
        (b"\x16\x03\x01\x00\x04\x01\x10\x00\x00", "too large"),
    ],
)
def test_what_is_not_a_client_hello_is_refused_saying_why(data: bytes, why: str) -> None:
    with pytest.raises(HelloError, match=why):
        handshake(data)


# ---------------------------------------------------------------------- built ClientHellos
def vec(size: int, body: bytes) -> bytes:
    return len(body).to_bytes(size, "big") + body


def sni(name: bytes) -> bytes:
    return (0).to_bytes(2, "big") + vec(2, vec(2, b"\x00" + vec(2, name)))


label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
names = st.lists(label, min_size=1, max_size=5).map(".".join)
other_ext = st.tuples(st.integers(1, 65535), st.binary(max_size=300)).map(
    lambda e: e[0].to_bytes(2, "big") + vec(2, e[1])
)


def hello(extensions: list[bytes], session: bytes = b"") -> bytes:
    body = b"\x03\x03" + bytes(32) + vec(1, session) + vec(2, b"\x13\x01") + vec(1, b"\x00")
    body += vec(2, b"".join(extensions))
    return b"\x01" + vec(3, body)


def records(message: bytes, sizes: list[int]) -> bytes:
    """``message`` in handshake records of the given sizes (the rest in the last one)."""
    out, pos = b"", 0
    for size in [*sizes, len(message)]:
        part = message[pos : pos + size]
        if part:
            out += b"\x16\x03\x01" + vec(2, part)
        pos += len(part)
    return out


@given(
    name=names,
    before=st.lists(other_ext, max_size=4, unique_by=lambda e: e[:2]),
    sizes=st.lists(st.integers(1, 200), max_size=6),
    session=st.binary(max_size=32),
)
def test_the_name_is_found_among_any_extensions_and_record_splits(
    name: str, before: list[bytes], sizes: list[int], session: bytes
) -> None:
    extensions = [e for e in before if e[:2] != b"\x00\x00"]
    message = hello([*extensions, sni(name.encode())], session)
    data = records(message, sizes) + b"after"  # what follows is not looked at
    assert handshake(data) == message
    assert name_of(data) == name


@given(st.binary(max_size=600))
def test_any_bytes_give_a_name_more_or_a_hello_error(data: bytes) -> None:
    try:
        message = handshake(data)
        if message is not None:
            server_name(message)
    except HelloError:
        pass


@given(
    name=names,
    cut=st.integers(0, 200),
    flip=st.tuples(st.integers(0, 400), st.integers(1, 255)),
)
def test_damaged_client_hellos_give_a_name_more_or_a_hello_error(
    name: str, cut: int, flip: tuple[int, int]
) -> None:
    message = hello([sni(name.encode())])
    data = bytearray(records(message, []))
    pos, xor = flip
    if pos < len(data):
        data[pos] ^= xor
    data = data[: max(0, len(data) - cut)] if cut % 2 else data
    try:
        found = handshake(bytes(data))
        if found is not None:
            server_name(found)
    except HelloError:
        pass


def test_two_names_or_a_name_that_is_not_dns_are_refused() -> None:
    two = (0).to_bytes(2, "big") + vec(2, vec(2, b"\x00" + vec(2, b"a.b") + b"\x00" + vec(2, b"c")))
    for ext, why in (
        (two, "two host names"),
        (sni(b"a..b"), "not a DNS name"),
        (sni(b"-a.b"), "not a DNS name"),
        (sni("ä.b".encode()), "not ASCII"),
        (sni(b"a" * 300), "not a DNS name"),
    ):
        with pytest.raises(HelloError, match=why):
            name_of(records(hello([ext]), []))
    with pytest.raises(HelloError, match="extension 0 twice"):
        name_of(records(hello([sni(b"a.b"), sni(b"a.b")]), []))

"""Livestatus over TCP: TLS with the site CA's certificate (Python's ssl and Thruk's Perl
client), and the allow-list and connection cap of the listener (in process, real sockets)."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from lsclient import read_fixed16
from lssite import Site, populate

from livesite import free_port, make_site
from lookout.config import LivestatusSettings
from lookout.domain.objects import HostConfig
from lookout.engine.core import Engine
from lookout.livestatus.data import SiteData
from lookout.livestatus.server import LivestatusServer
from lookout.livestatus.tables import build_tables

LQL = b"GET hosts\nColumns: name\nResponseHeader: fixed16\n\n"


@pytest.fixture(scope="module")
def tls_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, int]]:
    port = free_port()
    live = make_site(
        tmp_path_factory.mktemp("lstls") / "site",
        livestatus={"enabled": False, "tcp": f"127.0.0.1:{port}"},
    )
    live.start()
    try:
        with live.client() as http:
            populate(http)
            yield Site(live, http), port
    finally:
        live.stop()


@pytest.mark.integration
def test_tls_with_the_site_ca(tls_site: tuple[Site, int]) -> None:
    site, port = tls_site
    assert not site.socket.exists()  # the Unix socket is off in this site
    ctx = ssl.create_default_context(cafile=str(site.live.dir / "ca" / "ca.pem"))
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
        s.sendall(LQL)
        assert read_fixed16(cast(socket.socket, s)) == (200, b"web01\ndb01\nidle01\n")


@pytest.mark.integration
def test_thruk_client_over_tls(tls_site: tuple[Site, int]) -> None:
    site, port = tls_site
    probe = subprocess.run(
        ["perl", "-MMonitoring::Livestatus", "-MIO::Socket::SSL", "-e", "1"], capture_output=True
    )
    if probe.returncode != 0:
        pytest.skip("Monitoring::Livestatus or IO::Socket::SSL missing (scripts/test-deps.d)")
    script = (
        "use Monitoring::Livestatus; use Cpanel::JSON::XS;"
        "my $ml = Monitoring::Livestatus->new(peer => $ARGV[0], ca_file => $ARGV[1],"
        " errors_are_fatal => 1);"
        'print encode_json($ml->selectcol_arrayref("GET hosts\\nColumns: name"));'
    )
    ca = site.live.dir / "ca" / "ca.pem"
    run = subprocess.run(
        ["perl", "-e", script, f"tls://localhost:{port}", str(ca)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == ["web01", "db01", "idle01"]


def _server(tmp: Path, **settings: Any) -> LivestatusServer:
    engine = Engine()
    engine.put_host(HostConfig(name="h1"), 0.0)
    data = SiteData(
        engine=engine, actions=cast(Any, None), clock=lambda: 0.0, started_at=0.0, version="t"
    )

    async def no_log(*_: Any) -> list[Any]:
        return []

    s = LivestatusSettings(**settings)
    return LivestatusServer(data, build_tables(data, no_log), s, tmp / "live")


async def _ask(port: int, request: bytes = LQL) -> bytes:
    """The answer; b"" when the server closed (or reset) the connection without one."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 5)
    except ConnectionResetError:
        return b""
    finally:
        writer.close()


async def test_plain_tcp_from_an_allowed_network(tmp_path: Path) -> None:
    server = _server(tmp_path, tcp=f"127.0.0.1:{free_port()}", tls=False)
    await server.start()
    try:
        assert server.tcp_port is not None
        assert await _ask(server.tcp_port) == b"200           3\nh1\n"
    finally:
        await server.stop()
    assert not (tmp_path / "live").exists()


async def test_clients_outside_the_allow_list_are_closed_at_once(tmp_path: Path) -> None:
    server = _server(tmp_path, tcp=f"127.0.0.1:{free_port()}", tls=False, allow=["10.0.0.0/8"])
    await server.start()
    try:
        assert server.tcp_port is not None
        assert await _ask(server.tcp_port) == b""
        # the Unix socket is not subject to it: its file mode (0660) decides
        r, w = await asyncio.open_unix_connection(str(tmp_path / "live"))
        w.write(LQL)
        assert await asyncio.wait_for(r.read(), 5) == b"200           3\nh1\n"
        w.close()
    finally:
        await server.stop()


async def test_connections_beyond_the_cap_are_closed(tmp_path: Path) -> None:
    server = _server(tmp_path, max_connections=2)
    await server.start()
    try:
        held = [await asyncio.open_unix_connection(str(tmp_path / "live")) for _ in range(2)]
        await asyncio.sleep(0.05)
        r, w = await asyncio.open_unix_connection(str(tmp_path / "live"))
        assert await asyncio.wait_for(r.read(), 5) == b""
        w.close()
        for _r, hw in held:
            hw.close()
        await asyncio.sleep(0.05)
        r, w = await asyncio.open_unix_connection(str(tmp_path / "live"))
        w.write(LQL)
        assert await asyncio.wait_for(r.read(), 5) == b"200           3\nh1\n"
        w.close()
    finally:
        await server.stop()

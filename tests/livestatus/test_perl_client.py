"""Thruk's own client library, Monitoring::Livestatus (Debian's libmonitoring-livestatus-perl),
against the socket of a running site: plain and kept-alive connections, stats, errors, and a
COMMAND it sends the way Thruk does."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from lsclient import rows
from lssite import Site

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).with_name("thruk_client.pl")


def _perl_client_missing() -> str | None:
    if shutil.which("perl") is None:
        return "perl is not installed"
    probe = subprocess.run(["perl", "-MMonitoring::Livestatus", "-e", "1"], capture_output=True)
    if probe.returncode != 0:
        return (
            "Monitoring::Livestatus is not installed "
            "(scripts/test-deps.d/livestatus.sh installs libmonitoring-livestatus-perl)"
        )
    return None


MISSING = _perl_client_missing()


def thruk(site: Site, command: str = "") -> dict[str, Any]:
    if MISSING is not None:
        pytest.skip(MISSING)
    run = subprocess.run(
        ["perl", str(SCRIPT), str(site.socket), command],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    out: dict[str, Any] = json.loads(run.stdout)
    return out


def test_thruk_client_reads_services_stats_and_errors(site: Site) -> None:
    out = thruk(site)
    for tag in ("plain", "keepalive"):
        got = {(s["host_name"], s["description"]): s for s in out[tag]["services"]}
        assert got[("web01", "Disk /")]["state"] == 2
        assert got[("web01", "Disk /")]["plugin_output"] == "97% full"
        assert got[("web01", "HTTP")]["groups"] == ["frontend"]
        assert out[tag]["hosts"][:3] == ["web01", "db01", "idle01"]
        assert sum(out[tag]["stats"]) == len(got)
        code, message = out[tag]["error"]
        assert code == 404
        assert "no such table 'nosuch'" in message


def test_thruk_client_acknowledges_through_a_command(acting_site: Site) -> None:
    site = acting_site
    site.http.post("/api/v1/hosts", json={"name": "perl01"}).raise_for_status()
    site.http.post("/api/v1/hosts/perl01/services", json={"name": "Queue", "max_check_attempts": 1})
    site.result("perl01", "Queue", 2, "stuck")
    ack = f"COMMAND [{int(time.time())}] ACKNOWLEDGE_SVC_PROBLEM;perl01;Queue;2;1;1;thruk;on it"
    assert thruk(site, ack)["command"][0] in (0, 200)
    lql = "GET services\nColumns: acknowledged acknowledgement_type comments\n"
    acked = rows(site.socket, lql + "Filter: host_name = perl01")
    assert acked[0][:2] == [1, 2]
    comment = rows(
        site.socket, f"GET comments\nColumns: author comment\nFilter: id = {acked[0][2][0]}"
    )
    assert comment == [["thruk", "on it"]]
    # a refused command comes back to the client as Thruk reads it: "code: message"
    bad = thruk(site, f"COMMAND [{int(time.time())}] ACKNOWLEDGE_SVC_PROBLEM;perl01;Nope;2;1;1;t;c")
    assert bad["command"][0] == 452
    assert "service perl01/Nope not found" in bad["command"][1]

"""A host's own active check through the API: ``alive`` makes the host UP or DOWN."""

from __future__ import annotations

import socket

import httpx
import pytest
from webapi import Api, wait_for

from livesite import LiveSite

pytestmark = pytest.mark.integration


def _recheck_and_wait(api: Api, admin: httpx.Client, host: str, after: float) -> dict[str, object]:
    r = admin.post("/api/v1/actions/recheck", json={"host": host})
    assert r.status_code == 200, r.text
    view: dict[str, object] = wait_for(
        lambda: (v := api.get_host(host))["checked"] and float(v["last_check"] or 0) > after and v
    )
    return view


def test_alive_host_check_goes_up_then_down(api: Api, admin: httpx.Client, site: LiveSite) -> None:
    port = int(site.url.rsplit(":", 1)[1])  # the site's own HTTP port answers
    check = {"type": "alive", "ping": False, "ports": [port]}
    host = api.host(address="127.0.0.1", check=check, check_interval=3600)

    up = _recheck_and_wait(api, admin, host, 0.0)

    assert up["state_name"] == "UP", up
    assert up["summary"] == f"ALIVE UP - 127.0.0.1 accepts TCP connections on port {port}"
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        refused = closed.getsockname()[1]
        check = {"type": "alive", "ping": False, "ports": [refused], "timeout": 1}
        r = admin.patch(f"/api/v1/hosts/{host}", json={"check": check, "max_check_attempts": 1})
        assert r.status_code == 200, r.text
        down = _recheck_and_wait(api, admin, host, float(str(up["last_check"])))
    assert down["state_name"] == "DOWN", down
    assert str(down["summary"]).startswith("ALIVE DOWN - 127.0.0.1: no TCP answer: ")

"""Hosts with an address, no check of their own and no agent get the built-in alive check;
hosts fed by an agent or by submitted host results keep none (issue 11)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from webapi import Api, unique, wait_for

from livesite import LiveSite, free_port, make_site
from lookout.engine.scheduler import spread_offset

pytestmark = pytest.mark.integration


def _alive_rule(admin: httpx.Client, host: str, port: int) -> None:
    body = {
        "name": unique("alive"),
        "check_type": "alive",
        "hosts": [host],
        "params": {"ping": False, "ports": [port], "timeout": 2},
    }
    assert admin.post("/api/v1/check-rules", json=body).status_code == 201, body


def _late_name() -> str:
    """A host name whose first default run comes at least 20 s after it is added."""
    name = unique("quiet")
    while spread_offset(name, "", 60.0) < 20:
        name = unique("quiet")
    return name


def test_an_agentless_host_with_an_address_gets_the_alive_check(
    site: LiveSite, api: Api, admin: httpx.Client
) -> None:
    up, down = unique("alive-up"), unique("alive-down")
    _alive_rule(admin, up, urlsplit(site.url).port or 0)
    _alive_rule(admin, down, free_port())  # nothing listens there
    for name in (up, down):
        api.host(name=name, address="127.0.0.1", check_interval=0.5, retry_interval=0.5)
    shown = api.get_host(up)
    assert shown["check"] is None
    assert shown["default_check"] == {"type": "alive"}
    assert shown["check_rule"] is not None
    r = admin.post("/api/v1/actions/recheck", json={"host": up})
    assert r.status_code == 200, r.text  # the default check runs again on request
    h = wait_for(lambda: (h := api.get_host(up))["summary"].startswith("ALIVE UP") and h, 20)
    assert h["state_name"] == "UP"
    h = wait_for(lambda: (h := api.get_host(down))["state_name"] == "DOWN" and h, 20)
    assert h["summary"].startswith("ALIVE DOWN - 127.0.0.1")


def test_agent_hosts_hosts_without_address_and_fed_hosts_keep_none(
    api: Api, admin: httpx.Client
) -> None:
    agent = api.host(address="127.0.0.1", labels={"lookout/agent": "push"})
    bare = api.host()
    for name in (agent, bare):
        shown = api.get_host(name)
        assert (shown["default_check"], shown["summary"][:13]) == (None, "No host check")
    fed = api.host(name=_late_name(), address="127.0.0.1")
    assert api.get_host(fed)["default_check"] == {"type": "alive"}
    api.result(fed, None, 1, summary="down, says the passive feed")
    shown = api.get_host(fed)
    assert shown["default_check"] is None  # a host result from elsewhere: it stands down
    r = admin.post("/api/v1/actions/recheck", json={"host": fed})
    assert r.status_code == 409, r.text  # nothing to run again: it is passive now
    assert api.get_host(fed)["summary"] == "down, says the passive feed"


def test_the_site_setting_turns_the_default_off(tmp_path: Path) -> None:
    off = make_site(tmp_path / "site", default_host_check="none")
    off.start()
    try:
        with off.client() as admin:
            body: dict[str, Any] = {"name": "printer", "address": "127.0.0.1"}
            assert admin.post("/api/v1/hosts", json=body).status_code == 201
            shown = admin.get("/api/v1/hosts/printer").json()
            assert shown["default_check"] is None
            assert shown["summary"].startswith("No host check")
    finally:
        off.stop()

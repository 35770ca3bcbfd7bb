"""Command definitions over the REST API, and Nagios checks that use them, on a real site."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from webapi import Api, locs, problem_of, unique, wait_for

from livesite import LiveSite, make_site

pytestmark = pytest.mark.integration

PLUGINS = Path("/usr/lib/nagios/plugins")


def _plugins() -> None:
    if not (PLUGINS / "check_dummy").exists():
        reason = f"{PLUGINS}/check_dummy missing (run scripts/test-deps.d/plugins.sh)"
        if os.environ.get("CI"):
            pytest.fail(f"monitoring-plugins are required in CI: {reason}")
        pytest.skip(reason)


def _command(admin: httpx.Client, line: str, name: str | None = None) -> str:
    name = name or unique("check")
    r = admin.post("/api/v1/commands", json={"name": name, "command_line": line})
    assert r.status_code == 201, r.text
    return name


def test_define_list_show_replace_remove(admin: httpx.Client, viewer: httpx.Client) -> None:
    line = "$USER1$/check_tcp -H $HOSTADDRESS$ -p '$ARG1$'"
    name = _command(admin, line)
    shown = viewer.get(f"/api/v1/commands/{name}").json()
    assert shown["command_line"] == line
    assert shown["argv"] == ["$USER1$/check_tcp", "-H", "$HOSTADDRESS$", "-p", "$ARG1$"]
    assert shown["used_by"] == []
    assert name in {c["name"] for c in viewer.get("/api/v1/commands").json()["items"]}
    problem_of(admin.post("/api/v1/commands", json={"name": name, "command_line": line}), 409)
    r = admin.put(f"/api/v1/commands/{name}", json={"command_line": "/bin/true"})
    assert (r.status_code, r.json()["argv"]) == (200, ["/bin/true"])
    assert admin.delete(f"/api/v1/commands/{name}").status_code == 204
    problem_of(viewer.get(f"/api/v1/commands/{name}"), 404)


def test_viewers_cannot_write(viewer: httpx.Client) -> None:
    r = viewer.post("/api/v1/commands", json={"name": "x", "command_line": "/bin/true"})
    problem_of(r, 403)


@pytest.mark.parametrize(
    ("body", "loc", "text"),
    [
        ({"name": "ok", "command_line": ""}, ["command_line"], "is empty"),
        ({"name": "ok", "command_line": "check_tcp -p 1"}, ["command_line"], "absolute path"),
        ({"name": "ok", "command_line": "/bin/x 'open"}, ["command_line"], "No closing quotation"),
        ({"name": "no spaces", "command_line": "/bin/true"}, ["name"], "pattern"),
        ({"name": "ok", "command_line": "/bin/\u0000x"}, ["command_line"], "NUL"),
    ],
)
def test_bad_definitions_name_the_field(
    admin: httpx.Client, body: dict[str, Any], loc: list[str], text: str
) -> None:
    problem = problem_of(admin.post("/api/v1/commands", json=body), 422)
    assert loc in locs(problem)
    assert text in problem["detail"]


def test_services_need_a_known_command_and_keep_it(api: Api, admin: httpx.Client) -> None:
    host = api.host()
    check = {"type": "nagios", "command": "nope-" + unique(), "args": ["1"]}
    r = admin.post(f"/api/v1/hosts/{host}/services", json={"name": "P", "check": check})
    problem = problem_of(r, 422)
    assert ["check", "command"] in locs(problem)
    name = _command(admin, "/bin/echo $ARG1$")
    check["command"] = name
    api.service(host, "P", check=check)
    problem = problem_of(admin.delete(f"/api/v1/commands/{name}"), 409)
    assert f"{host}/P" in problem["detail"]
    assert admin.get(f"/api/v1/commands/{name}").json()["used_by"] == [f"{host}/P"]
    assert admin.delete(f"/api/v1/hosts/{host}/services/P").status_code == 204
    assert admin.delete(f"/api/v1/commands/{name}").status_code == 204


def test_a_nagios_service_shows_the_plugins_result(api: Api, admin: httpx.Client) -> None:
    _plugins()
    name = _command(admin, "$USER1$/check_dummy $ARG1$ '$HOSTNAME$ $SERVICEDESC$ at $HOSTADDRESS$'")
    host = api.host(address="x -w 1; rm -rf /")
    check = {"type": "nagios", "command": name, "args": ["1"]}
    api.service(host, "Dummy", check=check, check_interval=0.5, max_check_attempts=1)
    svc = wait_for(lambda: (s := api.svc(host, "Dummy"))["checked"] and s)
    assert (svc["state"], svc["summary"]) == (1, f"WARNING: {host} Dummy at x -w 1; rm -rf /")


@pytest.fixture(scope="module")
def locked_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    site = make_site(tmp_path_factory.mktemp("locked") / "site", execution={"enabled": False})
    site.start()
    try:
        yield site
    finally:
        site.stop()


def test_execution_disabled_refuses_nagios_services(locked_site: LiveSite) -> None:
    with locked_site.client() as admin:
        _command(admin, "/bin/true", name="truth")
        assert admin.post("/api/v1/hosts", json={"name": "h"}).status_code == 201
        check = {"type": "nagios", "command": "truth"}
        r = admin.post("/api/v1/hosts/h/services", json={"name": "T", "check": check})
        problem = problem_of(r, 422)
        assert "execution is disabled on this site" in problem["detail"]
        assert ["check", "type"] in locs(problem)
    assert locked_site.log is not None
    assert "[execution] enabled = false" in locked_site.log.read_text()


def test_switching_execution_off_turns_existing_checks_unknown(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site")
    marker = tmp_path / "ran"
    site.start()
    try:
        with site.client() as admin:
            _command(admin, f"/usr/bin/touch {marker}", name="touch")
            assert admin.post("/api/v1/hosts", json={"name": "h"}).status_code == 201
            check = {"type": "nagios", "command": "touch"}
            body = {"name": "T", "check": check, "check_interval": 0.5}
            assert admin.post("/api/v1/hosts/h/services", json=body).status_code == 201
    finally:
        site.stop()
    marker.unlink(missing_ok=True)
    settings = site.dir / "lookout.toml"
    before, section, after = settings.read_text().partition("[execution]\n")
    settings.write_text(before + section + after.replace("enabled = true", "enabled = false", 1))
    site.start()
    try:
        with site.client() as admin:

            def unknown() -> dict[str, Any] | None:
                svc: dict[str, Any] = admin.get("/api/v1/hosts/h/services/T").json()
                return svc if svc["summary"] == "execution disabled on this site" else None

            svc = wait_for(unknown)
            assert svc["state"] == 3
    finally:
        site.stop()
    assert not marker.exists()

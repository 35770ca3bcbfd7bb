"""SaaS mode: a root's sites run no programs and create only allow-listed types (403 saying
why on every door that creates them), cannot turn it off, and refuse to start holding what is
not allowed. A command that would leave a file behind proves nothing was spawned."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import httpx
import psutil
import pytest
from managerroot import make_root, stop_all
from sitehttp import api

from lookout.config import validate_settings
from lookout.errors import ConfigError
from lookout.manager.manager import Manager
from lookout.manager.root import Root

pytestmark = pytest.mark.integration


@pytest.fixture
def saas_root(tmp_path: Path) -> Root:
    r = make_root(tmp_path / "saas", saas=True)
    yield r
    stop_all(r)


def refused(r: object, what: str) -> None:
    assert getattr(r, "status_code", None) == 403, getattr(r, "text", r)
    assert what in r.json()["detail"]  # type: ignore[attr-defined]


def test_every_door_refuses_what_runs_programs_and_nothing_spawns(
    saas_root: Root, tmp_path: Path
) -> None:
    m = Manager(saas_root)
    new = m.create("alpha")
    marker = tmp_path / "spawned"
    settings = tomllib.loads((saas_root.site_dir("alpha") / "lookout.toml").read_text())
    assert settings["saas"]["enabled"] is True
    assert settings["execution"]["enabled"] is False
    nagios = {"type": "nagios", "command": "touch"}
    handler = {"command": "touch"}
    with api(new.url, new.token) as c:
        r = c.post(
            "/api/v1/commands", json={"name": "touch", "command_line": f"/usr/bin/touch {marker}"}
        )
        refused(r, "commands run programs on the server")
        refused(c.post("/api/v1/hosts", json={"name": "h1", "check": nagios}), "'nagios'")
        refused(c.post("/api/v1/hosts", json={"name": "h1", "event_handler": handler}), "event")
        assert c.post("/api/v1/hosts", json={"name": "h1"}).status_code == 201
        svc = {"name": "s1", "check": nagios}
        refused(c.post("/api/v1/hosts/h1/services", json=svc), "check type 'nagios'")
        svc = {"name": "s1", "event_handler": handler}
        refused(c.post("/api/v1/hosts/h1/services", json=svc), "event handlers")
        r = c.patch("/api/v1/hosts/h1", json={"check": nagios})
        refused(r, "not allowed on this SaaS site")
        tcp = {"name": "s2", "check": {"type": "tcp", "port": 1}}
        assert c.post("/api/v1/hosts/h1/services", json=tcp).status_code == 201  # allowed
        apprise = {"name": "ap", "spec": {"type": "apprise", "urls": ["json://127.0.0.1:1/"]}}
        refused(c.post("/api/v1/notifications/channels", json=apprise), "'apprise'")
        hook = {"name": "wh", "spec": {"type": "webhook", "url": "http://127.0.0.1:1/"}}
        assert c.post("/api/v1/notifications/channels", json=hook).status_code == 200
        tree = {"hosts": [{"name": "h2", "services": [{"name": "x", "check": nagios}]}]}
        refused(c.post("/api/v1/config/apply", json=tree), "'nagios'")
        tree = {"commands": [{"name": "touch", "command_line": f"/usr/bin/touch {marker}"}]}
        refused(c.post("/api/v1/config/apply", json=tree), "run programs")
        assert [h["name"] for h in c.get("/api/v1/hosts").json()["items"]] == ["h1"]
    pid = saas_root.record("alpha").pid
    assert pid is not None
    assert psutil.Process(pid).children(recursive=True) == []  # no plugin, no spawner
    assert not marker.exists()


def test_a_site_cannot_turn_saas_mode_off(saas_root: Root) -> None:
    m = Manager(saas_root)
    m.create("alpha")
    m.stop("alpha")
    path = saas_root.site_dir("alpha") / "lookout.toml"
    head, saas = path.read_text().split("[saas]\n")
    path.write_text(head + "[saas]\n" + saas.replace("enabled = true", "enabled = false", 1))
    with pytest.raises(ConfigError, match=r"\[saas\] enabled is not true"):
        m.start("alpha")
    with pytest.raises(ConfigError) as exc:  # and a site of its own: execution stays off
        validate_settings({"saas": {"enabled": True}, "execution": {"enabled": True}})
    assert "needs [execution] enabled = false" in exc.value.problems[0]
    with pytest.raises(ConfigError) as exc:
        validate_settings({"saas": {"check_types": ["tcp", "nagios"]}})
    assert "'nagios' runs programs on the server" in exc.value.problems[0]


def test_a_site_holding_what_is_not_allowed_refuses_to_start_saying_what(
    root: Root, saas_root: Root, tmp_path: Path
) -> None:
    plain = Manager(root).create("plain")  # not SaaS: programs and any channel allowed
    with api(plain.url, plain.token) as c:
        cmd = {"name": "touch", "command_line": f"/usr/bin/touch {tmp_path / 'x'}"}
        assert c.post("/api/v1/commands", json=cmd).status_code == 201
        check = {"type": "nagios", "command": "touch"}
        assert c.post("/api/v1/hosts", json={"name": "h1", "check": check}).status_code == 201
        spec = {"type": "apprise", "urls": ["json://127.0.0.1:1/"]}
        r = c.post("/api/v1/notifications/channels", json={"name": "ap", "spec": spec})
        assert r.status_code == 200
    made = Manager(root).backup("plain")
    with pytest.raises(ConfigError, match="process ended"):
        Manager(saas_root).restore("plain", made.path, as_name="copy")
    log = (saas_root.site_dir("copy") / "serve.log").read_text()
    assert "not allowed in SaaS mode: h1: check type 'nagios' is not allowed" in log
    assert "notification channel ap: channel type 'apprise' is not allowed" in log
    assert "1 command definition(s)" in log
    assert [r["state"] for r in Manager(saas_root).rows()] == ["failed"]


def test_the_web_ui_refuses_with_a_403_page_saying_why(saas_root: Root) -> None:
    new = Manager(saas_root).create("alpha")
    with httpx.Client(base_url=new.url) as c:
        form = {"user": "admin", "password": new.password, "csrf": csrf(c.get("/login").text)}
        assert c.post("/login", data=form).status_code == 303
        token = csrf(c.get("/setup").text)
        cmd = {"csrf": token, "name": "touch", "command_line": "/usr/bin/touch /tmp/x"}
        r = c.post("/setup/command", data=cmd)
        assert r.status_code == 403
        assert "commands run programs on the server" in r.text
        channel = {"csrf": token, "type": "apprise", "name": "ap", "urls": "json://127.0.0.1:1/"}
        r = c.post("/setup/channel", data=channel)
        assert r.status_code == 403
        assert "channel type &#39;apprise&#39; is not allowed" in r.text


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_a_site_set_to_disable_starts_with_what_is_not_allowed_disabled(
    root: Root, saas_root: Root, tmp_path: Path
) -> None:
    settings = saas_root.path / "manager.toml"
    text = settings.read_text().replace('on_violation = "refuse"', 'on_violation = "disable"')
    settings.write_text(text.replace("recheck_interval = 3600.0", "recheck_interval = 0.5"))
    saas = Root(saas_root.path)
    plain = Manager(root).create("plain")
    touched = tmp_path / "touched"
    with api(plain.url, plain.token) as c:
        cmd = {"name": "touch", "command_line": f"/usr/bin/touch {touched}"}
        assert c.post("/api/v1/commands", json=cmd).status_code == 201
        assert c.post("/api/v1/hosts", json={"name": "h1"}).status_code == 201
        svc = {"name": "run", "check": {"type": "nagios", "command": "touch"}}
        assert c.post("/api/v1/hosts/h1/services", json=svc).status_code == 201
        spec = {"type": "apprise", "urls": ["json://127.0.0.1:1/"]}
        r = c.post("/api/v1/notifications/channels", json={"name": "ap", "spec": spec})
        assert r.status_code == 200
    made = Manager(root).backup("plain")
    Manager(root).stop("plain")
    touched.unlink(missing_ok=True)
    copy = Manager(saas).restore("plain", made.path, as_name="copy")
    url = f"http://127.0.0.1:{copy.http_port}"
    with api(url, plain.token) as c:
        got = c.get("/api/v1/hosts/h1/services/run").json()
        assert got["state"] == 3
        assert "disabled in SaaS mode: check type 'nagios' is not allowed" in got["summary"]
        (entry,) = c.get("/api/v1/audit", params={"kind": "saas"}).json()["items"]
    assert entry["channel"] == "system"
    assert "h1/run: check type 'nagios' is not allowed" in str(entry["after"])
    assert "notification channel ap" in str(entry["after"])
    log = (saas.site_dir("copy") / "serve.log").read_text()
    assert "not allowed in SaaS mode, disabled: h1/run" in log
    assert "channel ap left out" in log
    assert not touched.exists()
    assert [r["state"] for r in Manager(saas).rows()] == ["running"]

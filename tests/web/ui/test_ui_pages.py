"""What the pages show: overview, filters kept in the URL, graphs, search, lists, setup."""

from __future__ import annotations

import html
import re
import shlex
import time
from pathlib import Path

import httpx
import pytest
from lookout_agent import cli as agent_cli
from uiweb import Browser
from webapi import Api, unique, wait_for

pytestmark = pytest.mark.integration


def test_overview_headline_counts_unhandled_problems(api: Api, ui_viewer: Browser) -> None:
    host, svc = api.host_with_service()
    api.result(host, svc, 2, summary="broken")
    live = ui_viewer.get("/ui/live.json").json()
    page = ui_viewer.get("/").text
    assert live["unhandled"] >= 1
    assert re.search(r'<span class="num">(\d+)</span>', page)
    assert 'href="/problems?handled=no"' in page
    assert "sent in 24 h" in page
    assert f"<title>({live['unhandled']}) Overview" in page or "<title>(" in page


def test_overview_tiles_say_the_count_and_style_it_truthfully(ui_viewer: Browser) -> None:
    """A count that is good at zero reads "✔ 0 stale" in the OK style, "? 2 stale" otherwise."""
    page = ui_viewer.get("/").text
    tallies = re.findall(
        r'class="state tally s-(\w+)"><span aria-hidden="true">(.)</span> <b>(\d+)</b> (\w+)', page
    )
    assert [word for *_, word in tallies] == ["failing", "stale"]
    bad = {"failing": ("crit", "✖"), "stale": ("unknown", "?")}
    for css, icon, count, word in tallies:
        assert (css, icon) == (bad[word] if int(count) else ("ok", "✔")), (css, count, word)


def test_problem_filters_live_in_the_url(api: Api, ui_viewer: Browser) -> None:
    host = api.host(labels={"team": "storage"})
    for name, state in (("w", 1), ("c", 2), ("u", 3)):
        api.service(host, name, max_check_attempts=1)
        api.result(host, name, state, summary=f"summary-{name}")
    page = ui_viewer.get("/problems", host=host, state="warn").text
    assert "summary-w" in page
    assert "summary-c" not in page
    both = ui_viewer.c.get("/problems", params=[("host", host), ("state", "crit,unknown")]).text
    order = [both.index("summary-c"), both.index("summary-u")]
    assert order == sorted(order)  # CRIT above UNKNOWN
    assert "summary-w" not in both
    labelled = ui_viewer.get("/problems", label="team=storage", host=host).text
    assert all(f"summary-{n}" in labelled for n in "wcu")
    bad = ui_viewer.get("/problems", state="purple", handled="maybe").text
    assert "state: unknown state &#39;purple&#39;" in bad
    assert "handled: expected all, no or yes" in bad


def test_problems_are_paginated(api: Api, ui_viewer: Browser) -> None:
    results = []
    host = api.host()
    for i in range(105):
        api.service(host, f"s{i:03d}", max_check_attempts=1)
        results.append({"host": host, "service": f"s{i:03d}", "state": 2, "summary": "x"})
    assert api.submit(*results).status_code == 200
    first = ui_viewer.get("/problems", host=host).text
    assert "page 1 of 2" in first
    second = ui_viewer.get("/problems", host=host, page=2).text
    assert "page 2 of 2" in second
    assert second.count('class="unhandled"') == 5


def test_service_page_shows_graphs_with_levels_and_history(api: Api, ui_viewer: Browser) -> None:
    host, svc = api.host_with_service("Load")
    now = time.time()
    for i, value in enumerate((1.0, 3.0, 9.0)):
        api.result(
            host,
            svc,
            2 if value > 8 else 0,
            summary=f"load {value}",
            perfdata=f"load1={value};4;8;0",
            checked_at=now - 60 * (3 - i),
        )
    page = ui_viewer.get("/service", host=host, name=svc)
    assert page.status_code == 200
    text = page.text
    assert '<svg class="graph"' in text
    assert 'class="g-warn"' in text
    assert 'class="g-crit"' in text
    assert 'class="t-crit"' in text  # the state timeline
    assert "load 9.0" in text
    for r in ("25h", "8d", "1y"):
        assert ui_viewer.get("/service", host=host, name=svc, range=r).status_code == 200


def test_unknown_objects_are_a_404_page(ui_viewer: Browser) -> None:
    r = ui_viewer.get("/host", name="no-such-host")
    assert r.status_code == 404
    assert "not found" in r.text
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"


def test_search_finds_hosts_and_services_by_name_and_label(api: Api, ui_viewer: Browser) -> None:
    tag = unique("zone")
    host = api.host(labels={"zone": tag})
    api.service(host, "Unusual service name " + tag[-6:])
    items = ui_viewer.get("/ui/search.json", q=tag).json()["items"]
    assert {"kind": "host", "host": host} == {k: items[0][k] for k in ("kind", "host")}
    assert items[0]["why"] == f"zone={tag}"
    items = ui_viewer.get("/ui/search.json", q="unusual SERVICE name " + tag[-6:]).json()["items"]
    assert items[0]["service"].endswith(tag[-6:])
    assert items[0]["url"].startswith("/service?host=")
    assert host in ui_viewer.get("/search", q=tag).text


def test_lists_show_downtimes_acks_and_events(api: Api, ui_operator: Browser) -> None:
    host, svc = api.host_with_service()
    api.result(host, svc, 2, summary="broken")
    ui_operator.act("ack", (host, svc), comment="ack-for-list")
    ui_operator.act("downtime", (host, svc), comment="dt-for-list", duration="1h")
    ui_operator.get("/")  # consume the messages
    assert "ack-for-list" in ui_operator.get("/acks").text
    assert "dt-for-list" in ui_operator.get("/downtimes").text
    assert "ack set" in ui_operator.get("/events", host=host).text
    assert "<th>Channel</th>" in ui_operator.get("/notifications").text


def test_failed_deliveries_show_on_overview_notifications_and_setup(
    api: Api, admin: httpx.Client, ui_admin: Browser
) -> None:
    channel, rule = unique("hook"), unique("rule")
    spec = {"type": "webhook", "url": "http://127.0.0.1:9/nobody-listens", "max_attempts": 1}
    r = admin.post("/api/v1/notifications/channels", json={"name": channel, "spec": spec})
    assert r.status_code == 200, r.text
    host, svc = api.host_with_service()
    r = admin.post(
        "/api/v1/notifications/rules", json={"name": rule, "channels": [channel], "hosts": [host]}
    )
    assert r.status_code == 200, r.text
    try:
        api.result(host, svc, 2, summary="disk on fire")
        wait_for(
            lambda: admin.get(
                "/api/v1/notifications/deliveries", params={"host": host, "status": "failed"}
            ).json()["items"]
        )
        page = ui_admin.get("/notifications", failed="1").text
        assert host in page
        assert channel in page
        assert "webhook" in page  # the channel's error is shown
        failing = re.compile(r'class="state tally s-crit">.{0,60}<b>[1-9]\d*</b> failing</span>')
        wait_for(lambda: failing.search(ui_admin.get("/").text))  # the count, in the problem style
        setup = ui_admin.get("/setup").text
        assert rule in setup
        assert channel in setup
    finally:
        admin.delete(f"/api/v1/notifications/rules/{rule}")


def test_admin_adds_a_host_a_user_and_a_token(api: Api, ui_admin: Browser) -> None:
    name = unique("web")
    r = ui_admin.post(
        "/setup/host",
        {"name": name, "address": "10.1.2.3", "labels": "env=prod, role=web", "check": ""},
    )
    assert r.status_code == 303
    assert api.get_host(name)["labels"] == {"env": "prod", "role": "web"}
    bad = ui_admin.post("/setup/host", {"name": name, "labels": "novalue"})
    assert bad.status_code == 303
    assert "is not key=value" in ui_admin.get("/setup").text
    user = unique("ops")
    ui_admin.post("/setup/user", {"name": user, "role": "operator", "password": "long enough"})
    Browser(api.site, user, "long enough").close()
    ui_admin.post("/setup/token", {"name": "ci", "user": user, "role": "viewer"})
    page = ui_admin.get("/setup").text
    token = re.search(r'<code id="new-token">(lk_[^<]+)</code>', page)
    assert token, "the new token is shown once"
    r = api.c.get("/api/v1/hosts", headers={"Authorization": f"Bearer {token.group(1)}"})
    assert r.status_code == 200
    assert "new-token" not in ui_admin.get("/setup").text


def test_a_bad_check_in_the_add_host_form_is_refused_with_its_field(
    api: Api, ui_admin: Browser
) -> None:
    name = unique("tcp")
    r = ui_admin.post("/setup/host", {"name": name, "check": "tcp", "port": "ssh"})
    assert r.status_code == 303
    assert "check.port" in ui_admin.get("/setup").text
    assert api.c.get(f"/api/v1/hosts/{name}").status_code == 404


def test_hosts_list_counts_services_by_state(api: Api, ui_viewer: Browser) -> None:
    host = api.host()
    for name, state in (("a", 2), ("b", 2), ("c", 0)):
        api.service(host, name, max_check_attempts=1)
        api.result(host, name, state, summary="x")
    api.service(host, "d")
    page = ui_viewer.get("/hosts", q=host).text
    counts = re.findall(r'class="state s-(\w+)"><span aria-hidden="true">.</span> (\d+)', page)
    assert counts == [("crit", "2"), ("ok", "1"), ("pending", "1")]


def test_admin_adds_an_agent_host_whose_agent_registers_and_pushes(
    api: Api, ui_admin: Browser, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    agent = unique("agent")
    r = ui_admin.post("/setup/host", {"name": agent, "agent": "on"})
    assert r.headers["location"].startswith(f"/setup?created={agent}")
    page = ui_admin.get(r.headers["location"]).text
    shown = re.search(r'<pre id="reg-cmd">([^<]+)</pre>', page)
    assert shown, "the registration command is shown"
    command = html.unescape(shown.group(1))
    assert command.startswith("lookout-agent register --server https://")
    assert "--ca-fingerprint SHA256:" in command
    assert "reg-cmd" not in ui_admin.get(r.headers["location"]).text, "shown once"
    assert "Agent" not in ui_admin.get("/host", name=agent).text.split("<main", 1)[1][:3000]

    state = str(tmp_path / "agent-state")
    assert agent_cli.main(["--state-dir", state, *shlex.split(command)[1:]]) == 0
    assert agent_cli.main(["--state-dir", state, "run", "--once"]) == 0
    capsys.readouterr()
    host_page = ui_admin.get("/host", name=agent).text
    assert "agent version" in host_page
    assert "pushing" in host_page
    assert "certificate expires" in host_page
    assert "Lookout Agent" in host_page


@pytest.mark.parametrize(
    ("path", "form", "field"),
    [
        ("/setup/host", {"name": ".."}, "name"),
        ("/setup/host", {"name": "ok-name", "address": "10.0.0.1\x00"}, "address"),
        (
            "/setup/user",
            {"name": "u1", "role": "viewer", "password": "long enough", "email": "a\x00@b.c"},
            "email",
        ),
        ("/setup/token", {"name": "t\x00", "role": "viewer"}, "name"),
    ],
)
def test_setup_forms_use_the_api_rules_for_their_fields(
    ui_admin: Browser, path: str, form: dict[str, str], field: str
) -> None:
    """Same field rules as the API (issue 16): NUL bytes and unaddressable names are refused
    with the field named, not stored (PostgreSQL refused them with a 500)."""
    assert ui_admin.post(path, form).status_code == 303
    page = ui_admin.get("/setup").text
    assert f"{field}: " in page

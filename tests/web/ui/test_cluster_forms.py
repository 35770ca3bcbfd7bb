"""The Setup page's cluster settings form (issue 15): the same validation as
``PATCH /api/v1/kube/clusters/NAME``, each error next to its field, secrets never shown; and
the admin's path in a real headless Chromium against a cluster served by the local Kubernetes
API server over real TLS (a screenshot for the README when ``LOOKOUT_SCREENSHOTS`` is set)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from uiweb import Browser, add_user
from webapi import unique, wait_for

from livesite import LiveSite
from sources.kube.kubeapi import ALL, KubeApi, Running, serve
from web.ui.test_browser import ARGS, CHROMIUM, PASSWORD

pytestmark = pytest.mark.integration
TOKEN = "t0k3n-for-ui-tests"


@pytest.fixture
def cluster(admin: httpx.Client) -> Iterator[str]:
    """A cluster with an encrypted token (not reachable: the form does not need it)."""
    name = unique("k")
    body = {"name": name, "server": "https://127.0.0.1:1", "token": TOKEN, "usage": "none"}
    r = admin.post("/api/v1/kube/clusters", json=body)
    assert r.status_code == 201, r.text
    yield name
    admin.delete(f"/api/v1/kube/clusters/{name}")


def _error_of(html: str, field: str) -> str:
    match = re.search(rf'id="{field}-error" role="alert">✖ ([^<]*)</span>', html)
    return match.group(1) if match else ""


def _form(name: str, **fields: str) -> dict[str, object]:
    base = {"name": name, "server": "https://127.0.0.1:1", "usage": "none", "interval": ""}
    return {**base, **fields}


def test_the_form_shows_settings_but_never_the_token(ui_admin: Browser, cluster: str) -> None:
    setup = ui_admin.get("/setup").text
    assert f'href="/setup/cluster?name={cluster}">Edit</a>' in setup
    page = ui_admin.get("/setup/cluster", name=cluster)
    assert page.status_code == 200
    assert 'name="server" value="https://127.0.0.1:1"' in page.text
    assert "a token (stored encrypted)" in page.text
    assert TOKEN not in page.text
    assert ui_admin.get("/setup/cluster", name="no-such").status_code == 404


def test_errors_are_shown_next_to_their_fields_and_nothing_changes(
    ui_admin: Browser, admin: httpx.Client, cluster: str
) -> None:
    r = ui_admin.post(
        "/setup/cluster",
        _form(cluster, interval="0.5", usage="prometheus", prometheus_url="ftp://x"),
    )
    assert r.status_code == 422
    assert "greater than or equal to 1" in _error_of(r.text, "interval")
    assert "should match pattern" in _error_of(r.text, "prometheus_url")
    assert 'name="interval" value="0.5"' in r.text  # what was typed stays
    r = ui_admin.post("/setup/cluster", _form(cluster, thresholds="params: {x: 1}"))
    assert _error_of(r.text, "thresholds").startswith("params/rules:")
    r = ui_admin.post("/setup/cluster", _form(cluster, thresholds="- a list"))
    assert "expected a mapping" in _error_of(r.text, "thresholds")
    r = ui_admin.post("/setup/cluster", _form(cluster, usage="prometheus", pod_hosts="app"))
    assert r.status_code == 422
    assert _error_of(r.text, "pod_hosts") == "&#39;app&#39; is not KEY=VALUE"
    r = ui_admin.post("/setup/cluster", _form(cluster, usage="prometheus"))
    assert _error_of(r.text, "prometheus_url") == "usage &#39;prometheus&#39; needs prometheus_url"
    r = ui_admin.post("/setup/cluster", _form(cluster, token="two words"))
    assert "bearer token consists of" in _error_of(r.text, "token")
    assert "two words" not in r.text
    r = ui_admin.post("/setup/cluster", _form(cluster, ca_data="not a pem"))
    assert "must be PEM" in _error_of(r.text, "ca")
    got = admin.get(f"/api/v1/kube/clusters/{cluster}").json()
    assert got["options"]["usage"] == "none"
    assert "interval" not in got["options"]


def test_a_saved_form_changes_the_cluster(
    ui_admin: Browser, ui_viewer: Browser, admin: httpx.Client, cluster: str
) -> None:
    fields = _form(
        cluster,
        interval="1m",
        usage="prometheus",
        prometheus_url="http://prometheus:9090",
        pod_hosts="app=pay, tier=web",
        thresholds="params:\n  restarts_levels: [5, 20]\n",
    )
    assert ui_viewer.post("/setup/cluster", fields).status_code == 403
    r = ui_admin.post("/setup/cluster", fields)
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/setup#clusters"
    got = admin.get(f"/api/v1/kube/clusters/{cluster}").json()
    assert got["options"]["interval"] == 60
    assert got["options"]["pod_hosts"] == {"app": "pay", "tier": "web"}
    assert got["options"]["params"] == {"restarts_levels": [5, 20]}
    assert got["auth"] == "token (encrypted)"  # an empty token field keeps it
    assert f"cluster {cluster} changed" in ui_admin.get("/setup").text


# ---------------------------------------------------------------------- real Chromium
@pytest.fixture
def kube(tmp_path: Path) -> Iterator[Running]:
    yield from serve(KubeApi(tokens={TOKEN: {ALL}}), tmp_path)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} missing (scripts/test-deps.d/ui.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def test_an_admin_edits_a_connected_cluster_in_chromium(
    chromium: Any, site: LiveSite, admin: httpx.Client, kube: Running, tmp_path: Path
) -> None:
    name = unique("lab")
    body = {
        "name": name,
        "server": kube.url,
        "token": TOKEN,
        "ca_data": kube.pki.ca_pem,
        "usage": "none",
    }
    assert admin.post("/api/v1/kube/clusters", json=body).status_code == 201
    url = f"/api/v1/kube/clusters/{name}"
    user = add_user(admin, "admin")
    page = chromium.new_context(
        base_url=site.url, viewport={"width": 1100, "height": 900}
    ).new_page()
    try:
        wait_for(lambda: admin.get(url).json()["status"].get("connected"))
        page.goto("/login")
        page.fill("input[name=user]", user)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r"/$"))
        page.goto("/setup")
        page.click(f'a[href="/setup/cluster?name={name}"]')
        page.wait_for_url(re.compile(r"/setup/cluster\?name="))
        page.fill("input[name=interval]", "0.5")
        page.select_option("select[name=usage]", "prometheus")
        page.click("text=Save and reconnect")
        page.wait_for_selector("#interval-error")
        assert "greater than or equal to 1" in page.inner_text("#interval-error")
        assert "needs prometheus_url" in page.inner_text("#prometheus_url-error")
        assert page.get_attribute("input[name=interval]", "aria-invalid") == "true"
        _screenshot(page, "cluster-edit-errors", tmp_path)

        page.fill("input[name=interval]", "20")
        page.fill("input[name=prometheus_url]", "http://prometheus:9090")
        page.click("text=Save and reconnect")
        page.wait_for_url(re.compile(r"/setup#clusters$"))
        assert f"cluster {name} changed" in page.inner_text("main")
        got = admin.get(url).json()
        assert (got["options"]["interval"], got["options"]["usage"]) == (20, "prometheus")
        # the running site reconnected with the new settings, no restart
        wait_for(lambda: admin.get(url).json()["status"].get("connected"))
    finally:
        page.context.close()
        admin.delete(url)


def _screenshot(page: Any, name: str, tmp: Path) -> None:
    out = Path(os.environ.get("LOOKOUT_SCREENSHOTS") or tmp)
    out.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(out / f"{name}.png"), full_page=True)

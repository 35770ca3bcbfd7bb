"""The user's path on a real site: `lookout kube rbac`, `connect` (verification, encrypted
token), hosts and services appear, the REST API never shows the token, `remove`."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from kubeapi import KubeApi, Running
from kubedata import TOKEN, feed_nri, need_fixtures
from typer.testing import CliRunner

from livesite import LiveSite, make_site
from lookout.cli.main import app
from lookout.sources.kube.rbac import manifest
from lookout.sources.kube.resources import required_permissions
from web.ui.uiweb import Browser, add_user

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[3]


def test_rbac_manifest_is_shipped_and_grants_exactly_what_is_used() -> None:
    out = CliRunner().invoke(app, ["kube", "rbac"])
    assert out.exit_code == 0
    assert out.stdout == (REPO / "deploy/kubernetes/monitoring-rbac.yaml").read_text() == manifest()
    docs = list(yaml.safe_load_all(out.stdout))
    kinds = [d["kind"] for d in docs]
    assert kinds == ["Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Secret"]
    granted = {
        (verb, res, group)
        for rule in docs[2]["rules"]
        for verb in rule["verbs"]
        for res in rule["resources"]
        for group in rule["apiGroups"]
    }
    needed = {
        (p.verb, f"{p.resource}/{p.subresource}" if p.subresource else p.resource, p.group)
        for p in required_permissions()
    }
    assert granted == needed
    assert docs[4]["type"] == "kubernetes.io/service-account-token"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One site for these tests (each uses its own cluster name)."""
    s = make_site(
        tmp_path_factory.mktemp("kube") / "site", tick_interval=0.2, kubernetes={"interval": 0.5}
    )
    s.start()
    try:
        yield s
    finally:
        s.stop()


def _cli(site: LiveSite, *args: str) -> Any:
    return CliRunner().invoke(app, [*args, "--url", site.url, "--token", site.token])


def _wait(cond: Any, what: str) -> Any:
    for _ in range(300):
        got = cond()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_connect_monitor_and_remove(
    api: KubeApi, server: Running, site: LiveSite, tmp_path: Path
) -> None:
    need_fixtures()
    feed_nri(api)
    token_file, ca_file = tmp_path / "token", tmp_path / "ca.crt"
    token_file.write_text(TOKEN + "\n")
    ca_file.write_text(server.pki.ca_pem)
    rules = tmp_path / "thresholds.yaml"
    rules.write_text(
        "params:\n  restarts_levels: [5, 20]\n"
        "rules:\n  - match: {k8s/namespace: kube-system}\n    params: {pending_levels: [60, 120]}\n"
    )
    out = _cli(
        site,
        "kube",
        "connect",
        "lab",
        "--thresholds",
        str(rules),
        "--server",
        server.url,
        "--token-file",
        str(token_file),
        "--ca-file",
        str(ca_file),
    )
    assert out.exit_code == 0, out.output
    assert "API server v1.35.0" in out.stdout
    assert "cluster lab added" in out.stdout
    assert "✗" not in out.stdout

    with site.client() as http:

        def services() -> Any:
            r = http.get("/api/v1/hosts/k8s:lab:ns:scraper/services")
            items = r.json().get("items", []) if r.status_code == 200 else []
            return (
                items
                if any(i["name"] == "Problem pods" and i.get("last_check") for i in items)
                else None
            )

        items = {i["name"]: i for i in _wait(services, "the scraper namespace's services")}
        assert items["Problem pods"]["state_name"] == "CRIT"
        assert "e2e-container-pending: Unschedulable" in items["Problem pods"]["summary"]
        hosts = http.get("/api/v1/hosts", params={"label": "k8s/cluster=lab"}).json()["items"]
        names = {h["name"] for h in hosts}
        assert {
            "k8s:lab",
            "k8s:lab:node:datagen-1-35",
            "k8s:lab:deployment:kube-system:coredns",
        } <= names
        node = http.get("/api/v1/hosts/k8s:lab:node:datagen-1-35/services").json()["items"]
        assert {s["name"] for s in node} >= {
            "Condition",
            "Kubelet",
            "CPU",
            "Memory",
            "Filesystem",
            "Pods",
            "Info",
        }

        listed = http.get("/api/v1/kube/clusters")
        assert listed.status_code == 200
        assert TOKEN not in listed.text
        [cluster] = [c for c in listed.json()["items"] if c["name"] == "lab"]
        assert cluster["options"]["params"] == {"restarts_levels": [5, 20]}
        assert cluster["options"]["rules"][0]["match"] == {"k8s/namespace": "kube-system"}
        assert cluster["auth"] == "token (encrypted)"
        assert cluster["status"]["connected"] is True

        # the web UI shows the cluster: setup lists the connection, a pod's workload host
        # sits in its place (cluster → namespace → workload)
        ui = Browser(site, add_user(http, "admin"))
        setup = ui.get("/setup").text
        assert "<code>" + server.url + "</code>" in setup
        assert "connected" in setup
        assert "v1.35.0" in setup
        place = ui.get("/host", name="k8s:lab:deployment:kube-system:coredns").text
        assert 'href="/problems?cluster=lab"' in place
        assert "kube-system" in place
        assert "coredns" in place
        ui.close()

    db = sa.create_engine(f"sqlite:///{site.dir / 'lookout.db'}")
    with db.connect() as conn:
        row = conn.execute(sa.text("SELECT token_encrypted FROM kube_clusters")).one()
    db.dispose()
    assert TOKEN not in row[0]
    assert (site.dir / "kube.key").stat().st_mode & 0o777 == 0o600

    site.stop()  # a restart reconnects the stored cluster (the token opens with kube.key)
    site.start()

    def connected() -> bool:
        status = _cli(site, "kube", "status", "lab")
        return status.exit_code == 0 and "connected        yes" in status.stdout

    _wait(connected, "the cluster to be connected again after a restart")
    listing = _cli(site, "kube", "list")
    assert "lab" in listing.stdout
    assert "v1.35.0" in listing.stdout

    removed = _cli(site, "kube", "remove", "lab")
    assert removed.exit_code == 0
    with site.client() as http:
        assert http.get("/api/v1/hosts", params={"label": "k8s/cluster=lab"}).json()["items"] == []


def test_connect_reports_missing_permissions_by_name(
    api: KubeApi, server: Running, site: LiveSite, tmp_path: Path
) -> None:
    api.tokens["partial"] = {f"{v} pods" for v in ("list", "watch")}
    token_file, ca_file = tmp_path / "token", tmp_path / "ca.crt"
    token_file.write_text("partial")
    ca_file.write_text(server.pki.ca_pem)
    out = _cli(
        site,
        "kube",
        "connect",
        "partial",
        "--server",
        server.url,
        "--token-file",
        str(token_file),
        "--ca-file",
        str(ca_file),
    )
    assert out.exit_code == 1
    assert "permission(s) missing" in out.stderr
    missing = [
        line.split("│")[2].strip() for line in out.stdout.splitlines() if line.startswith("│ ✗")
    ]
    assert "get nodes/proxy" in missing
    assert "list cronjobs (batch)" in missing
    assert "list pods" not in missing
    with site.client() as http:
        names = [c["name"] for c in http.get("/api/v1/kube/clusters").json()["items"]]
        assert "partial" not in names


def test_connect_refuses_unverified_tls_unless_asked(
    api: KubeApi, server: Running, site: LiveSite, tmp_path: Path
) -> None:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "lab",
                "contexts": [{"name": "lab", "context": {"cluster": "c", "user": "u"}}],
                "clusters": [{"name": "c", "cluster": {"server": server.url}}],
                "users": [{"name": "u", "user": {"token": TOKEN}}],
            }
        )
    )
    out = _cli(site, "kube", "connect", "insecure", "--kubeconfig", str(kubeconfig))
    assert out.exit_code == 1
    assert "not signed by a CA this machine trusts" in " ".join(out.stderr.split())
    out = _cli(
        site,
        "kube",
        "connect",
        "insecure",
        "--kubeconfig",
        str(kubeconfig),
        "--insecure-skip-tls-verify",
    )
    assert out.exit_code == 0, out.output
    assert "TLS verification is OFF" in out.stdout
    removed = _cli(site, "kube", "remove", "insecure")
    assert removed.exit_code == 0, removed.output


def test_api_validates_and_never_echoes_the_token(site: LiveSite) -> None:
    with site.client() as http:
        bad = http.post(
            "/api/v1/kube/clusters",
            json={"name": "Bad Name", "server": "ftp://x", "token": "s3cr3t"},
        )
        assert bad.status_code == 422
        assert "s3cr3t" not in bad.text
        locs = {tuple(e["loc"]) for e in bad.json()["errors"]}
        assert ("name",) in locs
        assert ("server",) in locs
        both = http.post(
            "/api/v1/kube/clusters",
            json={"name": "a", "server": "https://x", "token": "t", "token_file": "/f"},
        )
        assert both.status_code == 422
        assert "exactly one of" in both.text
        params = http.post(
            "/api/v1/kube/clusters",
            json={
                "name": "a",
                "server": "https://x",
                "token": "t",
                "params": {"pending_levels": "soon"},
            },
        )
        assert params.status_code == 422
        assert "pending_levels" in params.text
        ok = http.post(
            "/api/v1/kube/clusters",
            json={"name": "a", "server": "https://127.0.0.1:1", "token": "s3cr3t"},
        )
        assert ok.status_code == 201, ok.text
        assert "s3cr3t" not in ok.text
        viewer = http.post("/api/v1/tokens", json={"name": "v", "role": "viewer"}).json()["token"]
    with site.client(viewer) as http:
        assert http.get("/api/v1/kube/clusters").status_code == 200
        assert http.delete("/api/v1/kube/clusters/a").status_code == 403
    with site.client() as http:
        assert http.delete("/api/v1/kube/clusters/a").status_code == 200
        assert http.delete("/api/v1/kube/clusters/a").status_code == 404


def test_a_site_restart_keeps_what_the_checks_remember(
    api: KubeApi, server: Running, tmp_path: Path
) -> None:
    """A StatefulSet short of replicas: the shortfall's duration goes on across a restart of
    the site (saved with the site's state after every evaluation), it does not start at 0s."""
    api.add(
        {
            "kind": "Node",
            "metadata": {"name": "n1"},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        }
    )
    api.add(
        {
            "kind": "StatefulSet",
            "metadata": {"name": "db", "namespace": "shop", "generation": 1},
            "spec": {"replicas": 2},
            "status": {"observedGeneration": 1, "replicas": 1, "readyReplicas": 1},
        }
    )
    token_file, ca_file = tmp_path / "token", tmp_path / "ca.crt"
    token_file.write_text(TOKEN)
    ca_file.write_text(server.pki.ca_pem)
    s = make_site(tmp_path / "site", tick_interval=0.2, kubernetes={"interval": 0.5})
    s.start()
    try:
        out = _cli(
            s, "kube", "connect", "lab", "--server", server.url, "--token-file", str(token_file),
            "--ca-file", str(ca_file), "--usage", "none",
        )  # fmt: skip
        assert out.exit_code == 0, out.output

        def short_for(since: float) -> int | None:
            with s.client() as http:
                r = http.get("/api/v1/hosts/k8s:lab:statefulset:shop:db/services")
                items = r.json().get("items", []) if r.status_code == 200 else []
            for i in items:
                if i["name"] == "Replicas" and (i.get("last_check") or 0) > since:
                    found = re.search(r"short for (\d+)s", i["summary"])
                    return int(found.group(1)) if found else None
            return None

        before = _wait(lambda: (n := short_for(0)) is not None and n >= 3 and n, "3 s short")
        s.stop()
        restarted = time.time()
        s.start()
        after = _wait(lambda: short_for(restarted), "a result after the restart")
        assert after >= before  # timed from before the restart, not from 0s
    finally:
        s.stop()

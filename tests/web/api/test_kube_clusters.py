"""POST /api/v1/kube/clusters checks that the credentials can be used before it stores
anything (issue 16): a refused cluster answers 422 naming the field and is not stored, so the
corrected request succeeds instead of answering 409."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from webapi import locs, problem_of, unique

from sources.kube.kubeapi import make_pki

SERVER = "https://127.0.0.1:1"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    made = make_pki(tmp_path_factory.mktemp("pki"))
    return {"ca": made.ca_pem, "cert": made.cert_file.read_text(), "key": made.key_file.read_text()}


def _cluster(name: str, **body: Any) -> dict[str, Any]:
    return {"name": name, "server": SERVER, "usage": "none", **body}


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"token": "tökén"}, "token"),
        ({"token": "two words"}, "token"),
        (
            {
                "token": "t",
                "ca_data": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
            },
            "ca_data",
        ),
        (
            {
                "client_cert": "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----",
                "client_key": "key",
            },
            "client_cert",
        ),
        (
            {
                "client_cert": "cert",
                "client_key": "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----",
            },
            "client_key",
        ),
        ({"token": "t", "server": "https://[::1"}, "server"),
        ({"token_file": "/nonexistent/token"}, "token_file"),
    ],
)
def test_unusable_credentials_are_422_and_nothing_is_stored(
    admin: httpx.Client, pki: dict[str, str], bad: dict[str, str], field: str
) -> None:
    name = unique("k")
    body = _cluster(name, **{k: pki.get(v, v) for k, v in bad.items()})
    r = admin.post("/api/v1/kube/clusters", json=body)
    assert locs(problem_of(r, 422)) == [[field]]
    assert "tökén" not in r.text
    problem_of(admin.get(f"/api/v1/kube/clusters/{name}"), 404)
    good = _cluster(name, client_cert=pki["cert"], client_key=pki["key"], ca_data=pki["ca"])
    r = admin.post("/api/v1/kube/clusters", json=good)
    assert r.status_code == 201, r.text
    assert r.json()["auth"] == "client certificate"
    assert admin.delete(f"/api/v1/kube/clusters/{name}").status_code == 200


def test_a_key_of_another_certificate_is_refused(
    admin: httpx.Client, pki: dict[str, str], tmp_path: Path
) -> None:
    other = make_pki(tmp_path).key_file.read_text()
    name = unique("k")
    r = admin.post(
        "/api/v1/kube/clusters", json=_cluster(name, client_cert=pki["cert"], client_key=other)
    )
    body = problem_of(r, 422)
    assert locs(body) == [["client_key"]]
    assert "does not belong" in body["detail"]
    assert "PRIVATE KEY" not in r.text
    problem_of(admin.get(f"/api/v1/kube/clusters/{name}"), 404)


def test_patch_changes_settings_in_place_with_the_rules_of_create(
    admin: httpx.Client, viewer: httpx.Client, tmp_path: Path
) -> None:
    name = unique("k")
    created = admin.post("/api/v1/kube/clusters", json=_cluster(name, token="s3cr3t"))
    assert created.status_code == 201, created.text
    url = f"/api/v1/kube/clusters/{name}"
    try:
        body = problem_of(admin.patch(url, json={"colour": "red", "name": "other"}), 422)
        msgs = {tuple(e["loc"]): e["msg"] for e in body["errors"]}
        assert (
            "unknown setting 'colour'; a cluster's settings are: server, token"
            in (msgs[("colour",)])
        )
        assert "cannot be changed" in msgs[("name",)]
        for bad, field in (
            ({"usage": "prometheus"}, "prometheus_url"),
            ({"usage": "grafana"}, "usage"),
            ({"interval": 0.5}, "interval"),
            ({"token": "tökén"}, "token"),
            ({"token_file": "/nonexistent/token"}, "token_file"),
            ({"params": {"pending_levels": "soon"}}, "params"),
            ({"ca_data": "not a pem"}, "ca_data"),
        ):
            r = admin.patch(url, json=bad)
            assert locs(problem_of(r, 422)) == [[field]], (bad, r.text)
            assert "tökén" not in r.text
        token = tmp_path / "token"
        token.write_text("from-file\n")
        r = admin.patch(
            url,
            json={
                "interval": 30,
                "usage": "prometheus",
                "prometheus_url": "http://prometheus:9090",
                "token_file": str(token),
            },
        )
        assert r.status_code == 200, r.text
        got = admin.get(url).json()
        assert got["options"]["interval"] == 30
        assert got["options"]["usage"] == "prometheus"
        assert got["auth"] == f"token file {token}"
        assert got["created_at"] == created.json()["created_at"]
        assert "s3cr3t" not in r.text
        r = admin.patch(url, json={"interval": None, "usage": "none"})
        assert r.status_code == 200, r.text
        assert "interval" not in r.json()["options"]
        assert r.json()["options"]["prometheus_url"] == "http://prometheus:9090"  # kept
        assert viewer.patch(url, json={"interval": 10}).status_code == 403
        problem_of(admin.patch("/api/v1/kube/clusters/nothing-here", json={"interval": 9}), 404)
    finally:
        assert admin.delete(url).status_code == 200

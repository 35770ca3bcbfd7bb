"""``lookout kube connect`` explains itself and ``lookout kube set`` changes a cluster in
place (issue 15), against the local Kubernetes API server over real TLS and a real site.

Issue 16: connect checks the kubeconfig's credentials before it talks to anyone (the same
checks as the site's API, named by field, exit code 2)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from typer.testing import CliRunner, Result

from livesite import free_port
from lookout.cli.main import app
from lookout.sources.kube.resources import required_permissions
from sources.kube.kubeapi import ALL, KubeApi, Running, make_pki, serve

if TYPE_CHECKING:
    from conftest import Cli

pytestmark = pytest.mark.integration
TOKEN = "t0k3n-for-cli-tests"
NO_SITE = ["--url", "http://127.0.0.1:1", "--token", "lk_x"]
"""The site is never reached when the cluster is refused first."""


@pytest.fixture
def api() -> KubeApi:
    return KubeApi(tokens={TOKEN: {ALL}, "partial": {"list pods", "watch pods"}})


@pytest.fixture
def server(api: KubeApi, tmp_path: Path) -> Iterator[Running]:
    yield from serve(api, tmp_path)


@pytest.fixture
def files(server: Running, tmp_path: Path) -> dict[str, Path]:
    """A token file per known token and a wrong one, the cluster CA, another CA."""
    out = {"ca": tmp_path / "ca.crt", "other-ca": tmp_path / "other-ca.crt"}
    out["ca"].write_text(server.pki.ca_pem)
    out["other-ca"].write_text(make_pki(tmp_path / "other").ca_pem)
    for name, token in (("token", TOKEN), ("wrong", "wr0ng"), ("partial", "partial")):
        out[name] = tmp_path / name
        out[name].write_text(token + "\n")
    return out


def _kubeconfig(tmp: Path, server: str, token: str, ca: str = "") -> Path:
    cluster: dict[str, Any] = {"server": server}
    if ca:
        cluster["certificate-authority"] = ca
    doc = {
        "current-context": "lab",
        "contexts": [{"name": "lab", "context": {"cluster": "c", "user": "u"}}],
        "clusters": [{"name": "c", "cluster": cluster}],
        "users": [{"name": "u", "user": {"token": token}}],
    }
    path = tmp / "kubeconfig"
    path.write_text(yaml.safe_dump(doc))
    return path


def _connect(*args: str, site: list[str] = NO_SITE) -> Result:
    runner = CliRunner(env={"COLUMNS": "300", "NO_COLOR": "1"})
    return runner.invoke(app, ["kube", "connect", *args, *site])


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_connect_refuses_unusable_credentials_before_connecting(tmp_path: Path) -> None:
    config = {
        "current-context": "dev",
        "contexts": [{"name": "dev", "context": {"cluster": "dev", "user": "dev"}}],
        "clusters": [{"name": "dev", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "dev", "user": {"token": "tökén"}}],
    }
    (tmp_path / "config").write_text(yaml.safe_dump(config, allow_unicode=True))
    result = _connect("dev", "--kubeconfig", str(tmp_path / "config"))
    assert result.exit_code == 2, result.output
    assert "cannot use these credentials" in result.stderr
    assert "token: a bearer token consists of ASCII letters" in result.stderr
    assert "tökén" not in result.output
    assert "Checking" not in result.stdout


def test_a_wrong_token_names_its_file_and_what_to_do(
    server: Running, files: dict[str, Path]
) -> None:
    out = _connect(
        "lab", "--server", server.url, "--token-file", str(files["wrong"]),
        "--ca-file", str(files["ca"]),
    )  # fmt: skip
    assert out.exit_code == 1, out.output
    first = out.stdout.splitlines()[0]
    assert first == (
        f"Checking {server.url} (token from --token-file {files['wrong']}, "
        f"CA from --ca-file {files['ca']}) …"
    )
    err = _flat(out.stderr)
    assert err.startswith("error: the API server refused the token (401 Unauthorized)")
    assert f"the token came from --token-file {files['wrong']}" in err
    assert "ServiceAccount lookout-monitoring/lookout; read it again with:" in err
    assert "get secret lookout-token -o jsonpath='{.data.token}'" in err
    assert "lookout kube rbac | kubectl apply -f -" in err
    assert "GET /version" not in err


def test_a_wrong_token_in_a_kubeconfig_names_the_kubeconfig(
    server: Running, files: dict[str, Path], tmp_path: Path
) -> None:
    config = _kubeconfig(tmp_path, server.url, "wr0ng", str(files["ca"]))
    out = _connect("lab", "--kubeconfig", str(config))
    assert out.exit_code == 1, out.output
    assert out.stdout.splitlines()[0] == (
        f"Checking {server.url} (kubeconfig {config}, context lab) …"
    )
    assert f"the token came from kubeconfig {config}, user 'u' (token)" in _flat(out.stderr)


def test_a_refused_access_review_names_the_permission(
    api: KubeApi, server: Running, files: dict[str, Path]
) -> None:
    api.fail["/apis/authorization.k8s.io/v1/selfsubjectrulesreviews"] = 403  # falls back
    api.fail["/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"] = 403
    out = _connect(
        "lab", "--server", server.url, "--token-file", str(files["token"]),
        "--ca-file", str(files["ca"]),
    )  # fmt: skip
    assert out.exit_code == 1, out.output
    err = _flat(out.stderr)
    assert err.startswith(
        "error: the token is accepted but may not create selfsubjectaccessreviews "
        "(authorization.k8s.io)"
    )
    assert "system:basic-user" in err
    assert "the API server said: 403 Failure: injected 403" in err


def test_a_missing_ca_says_to_pass_one(
    server: Running, files: dict[str, Path], tmp_path: Path
) -> None:
    out = _connect("lab", "--server", server.url, "--token-file", str(files["token"]))
    assert out.exit_code == 1, out.output
    err = _flat(out.stderr)
    assert err.startswith(
        "error: the API server's certificate is not signed by a CA this machine trusts "
        "(unable to get local issuer certificate), and no cluster CA was given"
    )
    assert "pass the cluster's CA with --ca-file" in err
    assert "jsonpath='{.data.ca\\.crt}'" in err
    assert "or connect with --kubeconfig: its certificate-authority-data is used" in err
    assert "CERTIFICATE_VERIFY_FAILED" not in out.output
    assert "_ssl.c" not in out.output

    config = _kubeconfig(tmp_path, server.url, TOKEN)
    out = _connect("lab", "--kubeconfig", str(config))
    assert out.exit_code == 1, out.output
    err = _flat(out.stderr)
    assert f"or add certificate-authority-data to the cluster of kubeconfig {config}" in err


def test_a_wrong_ca_names_where_it_came_from_and_ca_file_replaces_it(
    server: Running, files: dict[str, Path], tmp_path: Path
) -> None:
    config = _kubeconfig(tmp_path, server.url, TOKEN, str(files["other-ca"]))
    out = _connect("lab", "--kubeconfig", str(config))
    assert out.exit_code == 1, out.output
    assert _flat(out.stderr).startswith(
        "error: the API server's certificate is not signed by the CA from "
        f"kubeconfig {config} (certificate-authority)"
    )
    # --ca-file replaces the kubeconfig's CA: now it is verified, and only the site is missing
    out = _connect("lab", "--kubeconfig", str(config), "--ca-file", str(files["ca"]))
    assert "API server v1.35.0" in out.stdout, out.output
    assert "cannot reach http://127.0.0.1:1" in out.stderr


def test_an_unreachable_server_says_so_with_the_url_once(files: dict[str, Path]) -> None:
    url = f"https://127.0.0.1:{free_port()}"
    out = _connect("lab", "--server", url, "--token-file", str(files["token"]))
    assert out.exit_code == 1, out.output
    err = _flat(out.stderr)
    assert err.startswith(f"error: cannot reach {url}: connection refused")
    assert err.count(url) == 1
    assert "kubectl cluster-info" in err
    assert out.stdout.count(url) == 1


def test_only_missing_permissions_are_listed_unless_verbose(
    server: Running, files: dict[str, Path]
) -> None:
    args = [
        "partial", "--server", server.url, "--token-file", str(files["partial"]),
        "--ca-file", str(files["ca"]),
    ]  # fmt: skip
    out = _connect(*args)
    assert out.exit_code == 1, out.output
    assert "Missing permissions" in out.stdout
    assert "✗" in out.stdout
    assert "✓ API server" in out.stdout
    assert out.stdout.count("✓") == 1  # the version line: no granted rows
    assert "list pods " not in out.stdout
    assert "get nodes/proxy" in out.stdout
    missing = len(required_permissions()) - 2
    assert f"{missing} permission(s) missing; grant them with: lookout kube rbac" in out.stderr
    assert "--force" in out.stderr
    verbose = _connect(*args, "--verbose")
    assert verbose.stdout.count("✓") == 3  # the version line and list/watch pods
    assert verbose.stdout.count("✗") == missing


def _wait(cond: Any, what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _status(cli: Cli, name: str) -> dict[str, Any]:
    status: dict[str, Any] = cli.json("kube", "status", name)["status"]
    return status


def test_connect_then_set_changes_the_running_cluster(
    cli: Cli, server: Running, files: dict[str, Path], tmp_path: Path
) -> None:
    name = f"set-{free_port()}"
    out = cli(
        "kube", "connect", name, "--server", server.url, "--token-file", str(files["token"]),
        "--ca-file", str(files["ca"]), "--usage", "none",
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    assert f"✓ all {len(required_permissions())} permissions granted" in out.stdout
    assert "Permissions" not in out.stdout
    try:
        _wait(lambda: _status(cli, name).get("connected"), "the cluster to connect")
        again = cli(
            "kube", "connect", name, "--server", server.url, "--token-file",
            str(files["token"]), "--ca-file", str(files["ca"]),
        )  # fmt: skip
        assert again.exit_code != 0
        assert f"change its settings with `lookout kube set {name} …`" in _flat(again.stderr)
        thresholds = tmp_path / "t.yaml"
        thresholds.write_text("params:\n  restarts_levels: [5, 20]\n")
        changed = cli.json(
            "kube", "set", name, "--interval", "30", "--pod-hosts", "app=pay",
            "--thresholds", str(thresholds), "--wait", "0",
        )  # fmt: skip
        assert changed["options"]["interval"] == 30
        assert changed["options"]["pod_hosts"] == {"app": "pay"}
        assert changed["options"]["params"] == {"restarts_levels": [5, 20]}
        assert changed["options"]["usage"] == "none"  # not given: kept
        assert changed["auth"] == "token (encrypted)"
        shown = cli.ok("kube", "status", name).stdout
        assert "interval         30s" in shown
        assert "pod hosts        app=pay" in shown
        assert "thresholds       1 overrides, 0 rules" in shown

        # a wrong token: the running monitor reconnects with it and is refused
        out = cli("kube", "set", name, "--token-file", str(files["wrong"]))
        assert out.exit_code == 1, out.output
        assert f"cluster {name}: token changed; reconnecting with the new settings" in out.stdout
        err = _flat(out.stderr)
        assert f"cluster {name} does not connect with the new settings: " in err
        assert "401" in err
        assert "the settings are stored" in err
        assert TOKEN not in out.output
        out = cli(
            "kube", "set", name, "--token-file", str(files["token"]), "--reference-token-file",
            "--site-interval", "--no-pod-hosts",
        )  # fmt: skip
        assert out.exit_code == 0, out.output
        assert "✓ connected: API server v1.35.0" in out.stdout
        shown = cli.json("kube", "status", name)
        assert shown["auth"] == f"token file {files['token'].resolve()}"
        assert "interval" not in shown["options"]
        assert shown["options"]["pod_hosts"] is None
        assert shown["status"]["connected"] is True

        refused = cli("kube", "set", name, "--usage", "prometheus")
        assert refused.exit_code == 1
        assert "prometheus_url: usage 'prometheus' needs prometheus_url" in refused.stderr
        assert cli("kube", "set", name).exit_code == 2
        missing = cli("kube", "set", "no-such-cluster", "--interval", "5")
        assert missing.exit_code != 0
        assert "no cluster named 'no-such-cluster'" in missing.stderr
    finally:
        cli.ok("kube", "remove", name)

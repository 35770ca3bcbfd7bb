"""``lookout kube connect`` checks the kubeconfig's credentials before it talks to anyone
(issue 16): the same checks as the site's API, named by field, exit code 2."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from lookout.cli.main import app


def test_connect_refuses_unusable_credentials_before_connecting(tmp_path: Path) -> None:
    config = {
        "current-context": "dev",
        "contexts": [{"name": "dev", "context": {"cluster": "dev", "user": "dev"}}],
        "clusters": [{"name": "dev", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "dev", "user": {"token": "tökén"}}],
    }
    (tmp_path / "config").write_text(yaml.safe_dump(config, allow_unicode=True))
    site = ["--url", "http://127.0.0.1:1", "--token", "lk_x"]
    result = CliRunner().invoke(
        app, ["kube", "connect", "dev", "--kubeconfig", str(tmp_path / "config"), *site]
    )
    assert result.exit_code == 2, result.output
    assert "cannot use these credentials" in result.stderr
    assert "token: a bearer token consists of ASCII letters" in result.stderr
    assert "tökén" not in result.output
    assert "Checking" not in result.stdout

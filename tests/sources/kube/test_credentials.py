"""kubeconfig parsing and tokens at rest."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from lookout.errors import ConfigError
from lookout.sources.kube.credentials import from_kubeconfig
from lookout.sources.kube.secrets import Vault

CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def _write(tmp: Path, doc: dict[str, Any]) -> Path:
    path = tmp / "config"
    path.write_text(yaml.safe_dump(doc))
    return path


def _config(**user: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "dev",
        "contexts": [
            {"name": "dev", "context": {"cluster": "dev", "user": "dev"}},
            {"name": "prod", "context": {"cluster": "prod", "user": "prod"}},
        ],
        "clusters": [
            {
                "name": "dev",
                "cluster": {
                    "server": "https://dev:6443/",
                    "certificate-authority-data": base64.b64encode(CA.encode()).decode(),
                },
            },
            {
                "name": "prod",
                "cluster": {"server": "https://prod:6443", "certificate-authority": "ca.crt"},
            },
        ],
        "users": [
            {"name": "dev", "user": user},
            {"name": "prod", "user": {"tokenFile": "/nonexistent/token"}},
        ],
    }


def test_current_context_with_token_and_ca_data(tmp_path: Path) -> None:
    name, creds = from_kubeconfig(_write(tmp_path, _config(token="abc")))
    assert name == "dev"
    assert (creds.server, creds.token, creds.ca_data, creds.insecure) == (
        "https://dev:6443",
        "abc",
        CA,
        False,
    )
    assert "abc" not in repr(creds)


def test_named_context_with_ca_file_and_token_file(tmp_path: Path) -> None:
    (tmp_path / "ca.crt").write_text(CA)
    doc = _config(token="abc")
    token = tmp_path / "token"
    token.write_text("from-file\n")
    doc["users"][1]["user"]["tokenFile"] = str(token)
    _, creds = from_kubeconfig(_write(tmp_path, doc), "prod")
    assert (creds.token, creds.ca_data) == ("from-file", CA)


def test_client_certificate(tmp_path: Path) -> None:
    enc = base64.b64encode
    _, creds = from_kubeconfig(
        _write(
            tmp_path,
            _config(
                **{
                    "client-certificate-data": enc(b"CERT").decode(),
                    "client-key-data": enc(b"KEY").decode(),
                }
            ),
        )
    )
    assert (creds.client_cert, creds.client_key, creds.token) == ("CERT", "KEY", "")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update({"current-context": ""}), "no current-context"),
        (lambda d: d.update({"current-context": "nope"}), "no context named 'nope'"),
        (
            lambda d: d["users"][0].update({"user": {"exec": {"command": "aws"}}}),
            "exec/auth-provider",
        ),
        (lambda d: d["clusters"][0]["cluster"].pop("server"), "has no server"),
        (
            lambda d: d["clusters"][0]["cluster"].update({"certificate-authority-data": "%%%"}),
            "not valid base64",
        ),
    ],
)
def test_bad_kubeconfigs_say_what_is_wrong(tmp_path: Path, change: Any, message: str) -> None:
    doc = _config(token="abc")
    change(doc)
    with pytest.raises(ConfigError, match=message):
        from_kubeconfig(_write(tmp_path, doc))


def test_not_yaml(tmp_path: Path) -> None:
    (tmp_path / "config").write_text("{{{")
    with pytest.raises(ConfigError, match="not valid YAML"):
        from_kubeconfig(tmp_path / "config")


def test_vault_seals_and_opens(tmp_path: Path) -> None:
    vault = Vault(tmp_path)
    sealed = vault.seal("s3cr3t")
    assert "s3cr3t" not in sealed
    assert Vault(tmp_path).open(sealed) == "s3cr3t"
    assert os.stat(tmp_path / "kube.key").st_mode & 0o777 == 0o600
    other = tmp_path / "other"
    other.mkdir()
    with pytest.raises(ConfigError, match="does not match"):
        Vault(other).open(sealed)
    (tmp_path / "kube.key").chmod(0o644)
    with pytest.raises(ConfigError, match="readable by others"):
        Vault(tmp_path).open(sealed)

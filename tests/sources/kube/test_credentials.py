"""kubeconfig parsing and tokens at rest."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from kubeapi import make_pki

from lookout.errors import ConfigError
from lookout.sources.kube.credentials import (
    Credentials,
    from_kubeconfig,
    problems,
    read_token_file,
)
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


# ---------------------------------------------------------------------- usable before stored
SERVER = "https://127.0.0.1:6443"


@pytest.fixture(scope="module")
def pems(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A CA, a certificate with its key, another key, and the key encrypted."""
    pki, other = (make_pki(tmp_path_factory.mktemp(n)) for n in ("pki", "other"))
    key = serialization.load_pem_private_key(pki.key_file.read_bytes(), password=None)
    locked = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pass"),
    )
    return {
        "ca": pki.ca_pem,
        "cert": pki.cert_file.read_text(),
        "key": pki.key_file.read_text(),
        "other_key": other.key_file.read_text(),
        "locked_key": locked.decode(),
    }


def test_usable_credentials_have_no_problems(pems: dict[str, str]) -> None:
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln-_~+/=="
    assert problems(Credentials(SERVER, token=jwt, ca_data=pems["ca"])) == []
    assert problems(Credentials(SERVER, client_cert=pems["cert"], client_key=pems["key"])) == []
    assert problems(Credentials("http://kube.local/prefix", token="sha256~abc")) == []


@pytest.mark.parametrize("token", ["tökén", "two words", "nul\x00byte", "tab\there", "line\n2"])
def test_token_must_be_rfc6750_b64token(token: str) -> None:
    [(field, why)] = problems(Credentials(SERVER, token=token))
    assert field == "token"
    assert "ASCII letters, digits" in why
    assert token not in why


@pytest.mark.parametrize(
    ("parts", "field", "says"),
    [
        (
            {"ca_data": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"},
            "ca_data",
            "not a PEM",
        ),
        ({"ca_data": "key"}, "ca_data", "not a PEM"),
        ({"client_cert": "CERT", "client_key": "key"}, "client_cert", "not a PEM certificate"),
        ({"client_cert": "cert", "client_key": "KEY"}, "client_key", "not a PEM private key"),
        ({"client_cert": "cert", "client_key": "other_key"}, "client_key", "does not belong"),
        ({"client_cert": "cert", "client_key": "locked_key"}, "client_key", "encrypted"),
        ({"client_cert": "cert"}, "client_key", "client_key is needed"),
        ({"client_key": "key"}, "client_cert", "client_cert is needed"),
    ],
)
def test_pems_must_parse_and_belong_together(
    pems: dict[str, str], parts: dict[str, str], field: str, says: str
) -> None:
    given = {k: pems.get(v, v) for k, v in parts.items()}
    [(got, why)] = problems(Credentials(SERVER, token="t", **given))
    assert (got, says in why) == (field, True), why


@pytest.mark.parametrize("server", ["https://[::1", "https://x:99999", "ftp://x"])
def test_server_must_be_an_http_url(server: str) -> None:
    assert [f for f, _ in problems(Credentials(server, token="t"))] == ["server"]


def test_token_file_with_unusable_characters_is_refused(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("tökén\n")
    with pytest.raises(ConfigError, match="ASCII letters"):
        read_token_file(tmp_path / "token")

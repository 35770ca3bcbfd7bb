"""The npm package ``oidc-provider`` (a certified OpenID provider) run by a test on a free
port with a configuration of the test's own (``oidc_provider.mjs``); installed by
``scripts/test-deps.d/oidc.sh`` into ``LOOKOUT_OIDC_PROVIDER_DIR``
(``/tmp/lookout-oidc-provider`` by default)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from joserfc.jwk import RSAKey

from livesite import free_port, stop, wait_ready

PROVIDER_DIR = Path(os.environ.get("LOOKOUT_OIDC_PROVIDER_DIR", "/tmp/lookout-oidc-provider"))
SCRIPT = Path(__file__).with_name("oidc_provider.mjs")
CLIENT_ID = "lookout-site"
CLIENT_SECRET = "a-client-secret-for-tests-only-0123456789"


def need_provider() -> None:
    if shutil.which("node") and (PROVIDER_DIR / "node_modules/oidc-provider").is_dir():
        return
    reason = f"oidc-provider missing in {PROVIDER_DIR} (scripts/test-deps.d/oidc.sh installs it)"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def signing_key(kid: str) -> dict[str, Any]:
    """A new RSA private key as a JWK with ``kid``."""
    key = RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})
    return dict(key.as_dict(private=True))


@dataclass
class Provider:
    redirect_uri: str
    log: Path
    users: dict[str, dict[str, Any]]
    keys: list[dict[str, Any]] = field(default_factory=lambda: [signing_key("k1")])
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        config = {
            "issuer": self.issuer,
            "port": self.port,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uri": self.redirect_uri,
            "keys": self.keys,
            "users": self.users,
        }
        env = {
            **os.environ,
            "OIDC_TEST_CONFIG": json.dumps(config),
            "OIDC_PROVIDER_DIR": str(PROVIDER_DIR),
        }
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            ["node", str(SCRIPT)], env=env, stdout=out, stderr=subprocess.STDOUT
        )
        url = f"{self.issuer}/.well-known/openid-configuration"
        if not wait_ready(self.proc, url, self.log, "oidc-provider", 30, 0.05):
            stop(self.proc)
            raise RuntimeError(f"oidc-provider not ready: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        stop(self.proc)
        self.proc = None

"""Tokens at rest: Fernet (AES-128-CBC + HMAC-SHA256) with a key file in the site directory
(mode 0600). The database alone does not reveal a token; the key file alone holds no token."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from lookout.errors import ConfigError

KEY_FILE = "kube.key"


class Vault:
    def __init__(self, site_dir: Path) -> None:
        self.path = site_dir / KEY_FILE
        self._fernet: Fernet | None = None

    def _key(self) -> Fernet:
        if self._fernet is None:
            if not self.path.exists():
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(Fernet.generate_key())
            mode = self.path.stat().st_mode & 0o077
            if mode:
                raise ConfigError(
                    f"{self.path} is readable by others (mode {oct(mode)}); chmod 600 it"
                )
            self._fernet = Fernet(self.path.read_bytes().strip())
        return self._fernet

    def seal(self, secret: str) -> str:
        return self._key().encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._key().decrypt(sealed.encode()).decode()
        except InvalidToken as exc:
            raise ConfigError(f"a stored Kubernetes secret does not match {self.path}") from exc

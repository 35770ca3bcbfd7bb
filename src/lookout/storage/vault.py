"""Secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256) with one key file in the site directory
(mode 0600). The database alone does not reveal a secret; the key file alone holds none.

One key seals every secret the site stores: Kubernetes tokens and client keys, notification
channel secrets. It lives in ``storage`` so that every layer storing a secret can use it. The
file keeps its first name, ``kube.key``: sites sealed tokens with it before channels did.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from lookout.errors import ConfigError

KEY_FILE = "kube.key"


class Vault:
    """Seals and opens strings with the site key, made (0600) the first time it is needed."""

    def __init__(self, site_dir: Path) -> None:
        self.path = site_dir / KEY_FILE
        self._fernet: Fernet | None = None
        self._lock = threading.Lock()

    def ensure(self) -> None:
        """Make the key now if there is none (``lookout init``: a standby's copy of the site
        directory then holds it from the start)."""
        self._key()

    def _key(self) -> Fernet:
        with self._lock:  # store methods run in worker threads
            if self._fernet is None:
                if not self.path.exists():
                    self._create()
                mode = self.path.stat().st_mode & 0o077
                if mode:
                    raise ConfigError(
                        f"{self.path} is readable by others (mode {oct(mode)}); chmod 600 it"
                    )
                self._fernet = Fernet(self.path.read_bytes().strip())
            return self._fernet

    def _create(self) -> None:
        """Write a new key under a temporary name, then link it into place: another process or
        vault making the key at the same moment wins or loses whole, never half written."""
        tmp = self.path.with_name(f".{KEY_FILE}.{os.getpid()}.{threading.get_ident()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(Fernet.generate_key())
                fh.flush()
                os.fsync(fh.fileno())
            with contextlib.suppress(FileExistsError):  # made meanwhile: that key is the one
                os.link(tmp, self.path)
        finally:
            tmp.unlink(missing_ok=True)

    def seal(self, secret: str) -> str:
        return self._key().encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._key().decrypt(sealed.encode()).decode()
        except InvalidToken as exc:
            raise ConfigError(f"a stored secret does not match {self.path}") from exc

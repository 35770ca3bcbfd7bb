"""The agent's state directory: key (0600), certificate, site CA, and what it knows."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

DEFAULT_DIR = Path("/var/lib/lookout-agent")
KEY = "agent.key"
CERT = "agent.pem"
CA = "ca.pem"
STATE = "state.json"
LOCAL_DIR = "local.d"


@dataclass
class AgentState:
    server: str
    host: str
    uuid: str
    site: str
    not_after: float
    registered_at: float
    last_push_at: float | None = None
    last_error: str | None = None
    interval: float = 60.0
    connect: str | None = None
    """HOST[:PORT] to connect to instead of the server's name (SNI and checks keep the name)."""


def write_private(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write atomically, with ``mode`` from the first byte on (no window with wider rights)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class StateDir:
    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def key(self) -> Path:
        return self.path / KEY

    @property
    def cert(self) -> Path:
        return self.path / CERT

    @property
    def ca(self) -> Path:
        return self.path / CA

    @property
    def local_dir(self) -> Path:
        return self.path / LOCAL_DIR

    def registered(self) -> bool:
        return (self.path / STATE).is_file() and self.key.is_file() and self.cert.is_file()

    def load(self) -> AgentState:
        data = json.loads((self.path / STATE).read_text(encoding="utf-8"))
        return AgentState(**data)

    def save(self, state: AgentState) -> None:
        write_private(self.path / STATE, json.dumps(asdict(state), indent=2).encode(), 0o644)

    def store_identity(self, key_pem: bytes, cert_pem: str, ca_pem: str) -> None:
        write_private(self.key, key_pem, 0o600)
        write_private(self.cert, cert_pem.encode(), 0o644)
        write_private(self.ca, ca_pem.encode(), 0o644)

    def forget(self) -> None:
        """Remove the local trust: key, certificate, CA and state (local.d is kept)."""
        for p in (self.key, self.cert, self.ca, self.path / STATE):
            p.unlink(missing_ok=True)

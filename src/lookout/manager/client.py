"""The CLI's side of the supervisor's socket (``ROOT/run/manager.sock``): one JSON request
line, one JSON answer line.

It imports nothing of the sites or their settings, so ``lookout sites create`` talks to a
running supervisor without the CLI paying for them (issue 13: a site answers within 1 s of
the command, the CLI's own start-up included)."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

from lookout import errors

SOCKET = "manager.sock"
ENV_ROOT = "LOOKOUT_SITES_ROOT"
_ERRORS: dict[str, type[errors.LookoutError]] = {
    c.__name__: c for c in (errors.ConfigError, errors.NotFound, errors.Conflict)
}


def root_path(given: Path | None) -> Path:
    """``--root``, else ``LOOKOUT_SITES_ROOT``."""
    if given is not None:
        return given
    env = os.environ.get(ENV_ROOT)
    if not env:
        raise errors.ConfigError(f"which root? give --root ROOT or set {ENV_ROOT}")
    return Path(env)


class Client:
    """One request to the supervisor over a connected socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def __call__(self, op: str, args: dict[str, Any]) -> Any:
        with self.sock:
            self.sock.sendall(json.dumps({"op": op, "args": args}).encode() + b"\n")
            line = self.sock.makefile("rb").readline()
        if not line:
            raise errors.ConfigError("the supervisor closed the connection without an answer")
        answer = json.loads(line)
        if answer.get("ok"):
            return answer.get("result")
        cls = _ERRORS.get(answer.get("type", ""), errors.ConfigError)
        if cls is errors.ConfigError:
            raise errors.ConfigError(answer["error"], answer.get("problems") or [])
        raise cls(answer["error"])


def connect(root_dir: Path) -> Client | None:
    """A connection to the supervisor of the root in ``root_dir``, or None when none runs."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(root_dir / "run" / SOCKET))
    except OSError:
        sock.close()
        return None
    return Client(sock)

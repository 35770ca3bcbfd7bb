"""The CLI's side of the supervisor's socket: which root, and no supervisor → None (the
request itself is proven through a real supervisor in ``test_supervisor.py``)."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import pytest

from lookout.errors import ConfigError, NotFound
from lookout.manager.client import ENV_ROOT, SOCKET, connect, root_path


def test_the_root_is_the_option_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_ROOT, raising=False)
    with pytest.raises(ConfigError, match=ENV_ROOT):
        root_path(None)
    monkeypatch.setenv(ENV_ROOT, str(tmp_path))
    assert root_path(None) == tmp_path
    assert root_path(tmp_path / "other") == tmp_path / "other"


def test_no_supervisor_means_no_client(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    assert connect(tmp_path) is None


def test_an_answer_of_the_supervisor_comes_back_as_its_error(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(tmp_path / "run" / SOCKET))
    server.listen(1)
    seen: list[dict[str, object]] = []

    def answer() -> None:
        conn, _ = server.accept()
        with conn:
            seen.append(json.loads(conn.makefile("rb").readline()))
            reply = {"ok": False, "type": "NotFound", "error": "no site 'x'"}
            conn.sendall(json.dumps(reply).encode() + b"\n")

    thread = threading.Thread(target=answer)
    thread.start()
    try:
        client = connect(tmp_path)
        assert client is not None
        with pytest.raises(NotFound, match="no site 'x'"):
            client("stop", {"name": "x"})
    finally:
        thread.join(10)
        server.close()
    assert seen == [{"op": "stop", "args": {"name": "x"}}]

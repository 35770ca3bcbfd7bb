"""The resource file's $USERn$ macros are read again when the file changes (no restart)."""

from __future__ import annotations

import os
from pathlib import Path

from lookout.domain.commands import Command
from lookout.sources.active.plugins import CommandRunner, Executor
from lookout.sources.active.resources import ResourceFile


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _write(path: Path, text: str | bytes, mtime: int) -> None:
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    os.utime(path, ns=(mtime, mtime))  # a distinct stamp even within one clock tick


def test_a_changed_file_is_read_again_within_the_interval(tmp_path: Path) -> None:
    path, clock = tmp_path / "resource.cfg", Clock()
    _write(path, "$USER1$=/opt/plugins\n", 1)
    resources = ResourceFile(path, every=1.0, clock=clock)
    runner = CommandRunner(Executor(), resources=resources)
    runner.commands["c"] = Command.parse("c", "$USER1$/check_x $USER2$")
    assert runner.argv("c", {}) == ("/opt/plugins/check_x",)  # no $USER2$ yet: dropped
    _write(path, "$USER1$=/usr/local/plugins\n$USER2$=secret\n", 2)
    clock.now += 0.5  # not looked at yet
    assert runner.argv("c", {}) == ("/opt/plugins/check_x",)  # no $USER2$ yet: dropped
    clock.now += 0.6
    assert runner.argv("c", {}) == ("/usr/local/plugins/check_x", "secret")


def test_an_unreadable_file_keeps_the_macros_and_a_removed_one_gives_the_defaults(
    tmp_path: Path,
) -> None:
    path, clock = tmp_path / "resource.cfg", Clock()
    _write(path, "$USER1$=/opt/plugins\n", 1)
    resources = ResourceFile(path, every=1.0, clock=clock)
    _write(path, b"$USER1$=\xff\xfe\n", 2)  # not UTF-8
    clock.now += 2
    assert resources.current() == {"USER1": "/opt/plugins"}
    path.unlink()
    clock.now += 2
    assert resources.current() == {"USER1": "/usr/lib/nagios/plugins"}
    _write(path, "$USER1$=/back\n", 3)
    clock.now += 2
    assert resources.current() == {"USER1": "/back"}

"""Collection on this machine, local checks, the state directory, the CLI's argument checks."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from lookout_agent import cli, collect, localchecks
from lookout_agent.state import AgentState, StateDir


def test_collect_this_machine() -> None:
    sections, ms = collect.collect(None)
    assert ms > 0
    assert sections.cpu is not None
    assert sections.cpu.cores >= 1
    assert sections.memory is not None
    assert sections.memory.total > 0
    assert sections.filesystems
    assert all(fs.fstype not in collect.PSEUDO_FS for fs in sections.filesystems)
    assert sections.uptime is not None
    assert sections.os is not None
    assert sections.interfaces
    assert any(n.name == "lo" for n in sections.interfaces)


def script(directory: Path, name: str, body: str, mode: int = 0o755) -> None:
    path = directory / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(mode)


def test_local_checks(tmp_path: Path) -> None:
    script(tmp_path, "a.sh", 'echo \'0 "A" - fine\'\necho\necho "junk"\n')
    script(tmp_path, "b.sh", "exit 3\n")
    script(tmp_path, "c.sh", "echo hi\n", mode=0o644)
    script(tmp_path, "d.sh", "sleep 5\n")
    script(tmp_path, ".hidden", "echo nope\n")
    section = localchecks.run(tmp_path, timeout=0.5)
    assert section is not None
    assert section.lines == ['0 "A" - fine', "junk"]
    assert sorted(e.split(":")[0] for e in section.errors) == ["b.sh", "c.sh", "d.sh"]
    assert any("timed out" in e for e in section.errors)
    assert any("not executable" in e for e in section.errors)


def test_no_local_dir_no_section(tmp_path: Path) -> None:
    assert localchecks.run(tmp_path / "missing") is None


def test_state_dir_modes(tmp_path: Path) -> None:
    sd = StateDir(tmp_path / "state")
    sd.store_identity(b"KEY", "CERT", "CA")
    sd.save(AgentState("https://x:8443", "web01", "u", "s", 1.0, 0.0))
    assert stat.S_IMODE(sd.key.stat().st_mode) == 0o600
    assert stat.S_IMODE(sd.path.stat().st_mode) == 0o700
    assert sd.registered()
    assert sd.load().host == "web01"
    sd.forget()
    assert not sd.registered()
    assert not sd.key.exists()


def test_register_needs_a_trust_anchor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(
            ["--state-dir", str(tmp_path), "register", "--server", "https://x", "--token", "t"]
        )
    assert exc.value.code == 2
    assert "--ca-fingerprint" in capsys.readouterr().err


def test_register_refuses_a_bad_fingerprint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(
        ["--state-dir", str(tmp_path), "register", "--server", "https://127.0.0.1:1",
         "--token", "t", "--ca-fingerprint", "SHA256:1234"]
    )  # fmt: skip
    assert code == 1
    assert "not a SHA-256 fingerprint" in capsys.readouterr().err


def test_status_when_not_registered(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--state-dir", str(tmp_path), "status", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["registered"] is False


def test_dump_prints_sections(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--state-dir", str(tmp_path), "dump"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["wire_version"] == 1
    assert data["sections"]["memory"]["total"] > 0


def test_run_without_registration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--state-dir", str(tmp_path), "run", "--once"]) == 1
    assert "not registered" in capsys.readouterr().err
    assert not os.listdir(tmp_path)

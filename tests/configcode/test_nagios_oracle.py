"""The importer counts what Nagios counts: ``nagios4 -v`` (Debian's nagios4) on the sample
configuration and on a generated large one built from the sample templates."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from configcode.nagiosgen import write_config
from lookout.configcode.nagiosfiles import import_nagios

pytestmark = pytest.mark.integration
NAGIOS = shutil.which("nagios4") or "/usr/sbin/nagios4"
SAMPLE = Path("/etc/nagios4/nagios.cfg")


def _need_nagios() -> None:
    if Path(NAGIOS).is_file() and SAMPLE.is_file():
        return
    reason = "Debian nagios4 is not installed (scripts/test-deps.d/nagios.sh installs it)"
    if os.environ.get("CI"):
        pytest.fail(f"nagios4 is required in CI: {reason}")
    pytest.skip(reason)


def nagios_counts(main: Path, cwd: Path) -> dict[str, int]:
    """The "Checked N <objects>." lines of ``nagios4 -v`` (a run without errors)."""
    run = subprocess.run(
        [NAGIOS, "-v", str(main)], capture_output=True, text=True, cwd=cwd, timeout=300
    )
    assert "Total Errors:   0" in run.stdout, run.stdout[-3000:]
    found = re.findall(r"^\s*Checked (\d+) ([a-z ]+)\.$", run.stdout, re.MULTILINE)
    counts = {kind: int(n) for n, kind in found}
    return {k: v for k, v in counts.items() if "escalation" not in k}


def test_debian_sample_configuration(tmp_path: Path) -> None:
    _need_nagios()
    expected = nagios_counts(SAMPLE, tmp_path)
    result = import_nagios(SAMPLE)
    assert result.counts.as_dict() == expected
    assert expected["services"] > 0
    [localhost] = result.tree["hosts"]
    assert {s["name"] for s in localhost["services"]} >= {"PING", "Root Partition", "HTTP"}


@pytest.fixture
def readable_dir() -> Iterator[Path]:
    """A directory the nagios user can read too (nagios4 -v drops root; pytest's are 0700)."""
    path = Path(tempfile.mkdtemp(prefix="lookout-nagios-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_generated_large_configuration(readable_dir: Path) -> None:
    _need_nagios()
    main = write_config(readable_dir / "nagios", hosts=3000)
    expected = nagios_counts(main, readable_dir)
    result = import_nagios(main)
    assert result.counts.as_dict() == expected
    assert expected["hosts"] == 3000
    assert not [n for n in result.notes if "is not defined" in n.message]

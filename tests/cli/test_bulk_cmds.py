"""``lookout add-objects FILE`` against a real site."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Cli

pytestmark = pytest.mark.integration


def test_add_objects_from_yaml_names_what_it_refused(cli: Cli, tmp_path: Path) -> None:
    file = tmp_path / "objects.yaml"
    file.write_text(
        "hosts:\n  - {name: bulk1}\n  - {name: bulk2, parents: [bulk1]}\n"
        "services:\n  - {host: bulk1, name: disk}\n  - {host: nowhere, name: disk}\n",
        encoding="utf-8",
    )
    out = cli.ok("add-objects", str(file)).stdout
    assert "2 hosts and 1 service created" in out
    assert "refused services.1.host: unknown host 'nowhere'" in out
    assert cli.json("host", "show", "bulk2")["host"]["parents"] == ["bulk1"]
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    result = cli("add-objects", str(bad))
    assert result.exit_code == 2
    assert "bad.json" in result.output

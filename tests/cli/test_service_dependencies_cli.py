"""``lookout service add --depends-on HOST/SERVICE`` against a real site."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Cli

pytestmark = pytest.mark.integration


def test_depends_on_names_the_cause_and_refuses_what_cannot_be(cli: Cli) -> None:
    cli.ok("host", "add", "node7")
    cli.ok("service", "add", "node7", "Kubelet")
    made = cli.json("service", "add", "node7", "Filesystem /var", "--depends-on", "node7/Kubelet")
    assert made["depends_on"] == [{"host": "node7", "service": "Kubelet"}]

    bad = cli("service", "add", "node7", "Pods", "--depends-on", "Kubelet")
    assert bad.exit_code == 2
    assert "expected HOST/SERVICE" in bad.output
    missing = cli("service", "add", "node7", "Pods", "--depends-on", "node7/nope")
    assert missing.exit_code != 0
    assert "no service node7/nope" in missing.output

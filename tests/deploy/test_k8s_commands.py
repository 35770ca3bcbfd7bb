"""Every ``lookout`` command line in the manifests parses with the real CLI (options exist,
values fit), so a renamed option fails here and not in a crash-looping pod."""

from __future__ import annotations

import pytest
import typer
from k8s_manifests import OVERLAYS, build, pod_spec
from typer.core import TyperGroup

from lookout.cli.main import app


def command_lines() -> list[list[str]]:
    """Arguments given to the image's ``lookout`` entrypoint, $(VAR) filled with a sample."""
    lines = []
    for overlay in OVERLAYS:
        for obj in build(overlay):
            spec = pod_spec(obj) or {}
            for c in spec.get("initContainers", []) + spec.get("containers", []):
                if "lookout" in c["image"] and "command" not in c:
                    lines.append(
                        [a.replace("$(LOOKOUT_NATS_URL)", "nats://n:4222") for a in c["args"]]
                    )
    return lines


def parse(args: list[str]) -> None:
    """Parse (not run) ``lookout ARGS``: unknown options and bad values raise."""
    group = typer.main.get_command(app)
    assert isinstance(group, TyperGroup)
    command = group.commands[args[0]]
    command.make_context(args[0], list(args[1:]))


@pytest.mark.parametrize("args", command_lines(), ids=" ".join)
def test_every_lookout_command_line_parses(args: list[str]) -> None:
    parse(args)


def test_the_command_lines_are_the_expected_ones() -> None:
    commands = {(a[0], a[2] if a[0] == "worker" else "") for a in command_lines()}
    assert commands == {("serve", ""), ("migrate", ""), ("worker", "default"), ("worker", "snmp")}


def test_a_wrong_option_does_not_parse() -> None:
    with pytest.raises(Exception, match="No such option: --nat"):
        parse(["worker", "--pool", "default", "--nat", "nats://n:4222"])

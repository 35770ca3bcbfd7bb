"""``lookout``: the command line. Site commands work on a directory; everything else talks to
a running site over the REST API, so it works the same against a remote site.

Each command's module is imported when the command is used (:mod:`lookout.cli.lazy`), so a
command starts without importing every other one."""

from __future__ import annotations

from typing import Annotated

import typer

from lookout.cli import helpstyle
from lookout.cli.lazy import LazyGroup
from lookout.cli.options import GlobalOptions

OBJECTS = ("objects_cmds", "edit_cmds", "agent_cmds")
"""``edit_cmds`` adds ``edit`` to the ``host`` and ``service`` groups."""
ADMIN = ("admin_cmds", "user_cmds")
"""``user_cmds`` adds ``passwd`` and ``totp-reset`` to the ``user`` group."""
COMMANDS: dict[str, tuple[str, ...]] = {
    "init": ("site_cmds",),
    "serve": ("site_cmds",),
    "migrate": ("site_cmds",),
    "version": ("site_cmds",),
    "demo": ("site_cmds",),
    "submit": OBJECTS,
    "problems": ("handling_cmds",),
    "ack": ("handling_cmds",),
    "unack": ("handling_cmds",),
    "comment": ("handling_cmds",),
    "uncomment": ("handling_cmds",),
    "recheck": ("handling_cmds",),
    "events": ("handling_cmds",),
    "acknowledgements": ("history_cmds",),
    "comments": ("history_cmds",),
    "metrics": ("history_cmds",),
    "checkpoint": ADMIN,
    "add-objects": ("bulk_cmds",),
    "worker": ("worker_cmds",),
    "pools": ("worker_cmds",),
    "status": ("status_cmds",),
    "host": OBJECTS,
    "service": OBJECTS,
    "downtime": ("handling_cmds",),
    "token": ADMIN,
    "user": ADMIN,
    "notifications": ("notify_cmds",),
    "kube": ("kube_cmds",),
    "agent": ("agent_cmds",),
    "command": ("command_cmds",),
    "check-rule": ("checkrule_cmds",),
    "config": ("config_cmds",),
    "import": ("config_cmds",),
    "journey": ("journey_cmds",),
    "report": ("report_cmds",),
    "sites": ("sites_cmds",),
    "remote": ("remote_cmds",),
    "central": ("remote_cmds",),
    "audit": ("audit_cmds",),
}
"""Every top-level command and the modules that register it, in the order help lists them."""


class LookoutGroup(LazyGroup):
    table = COMMANDS


helpstyle.install()
app = typer.Typer(
    name="lookout",
    cls=LookoutGroup,
    help="Lookout monitoring: run a site and handle its problems.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def main(
    ctx: typer.Context,
    debug: Annotated[
        bool, typer.Option("--debug", help="Print the full traceback of an error too")
    ] = False,
) -> None:
    """Lookout monitoring: run a site and handle its problems."""
    ctx.obj = GlobalOptions(debug=debug)


if __name__ == "__main__":
    app()

"""``lookout``: the command line. Site commands work on a directory; everything else talks to
a running site over the REST API, so it works the same against a remote site."""

from __future__ import annotations

from typing import Annotated

import typer

from lookout.cli import (
    admin_cmds,
    agent_cmds,
    audit_cmds,
    bulk_cmds,
    checkrule_cmds,
    command_cmds,
    config_cmds,
    edit_cmds,
    handling_cmds,
    helpstyle,
    history_cmds,
    journey_cmds,
    kube_cmds,
    notify_cmds,
    objects_cmds,
    remote_cmds,
    report_cmds,
    site_cmds,
    sites_cmds,
    status_cmds,
    user_cmds,
    worker_cmds,
)
from lookout.cli.options import GlobalOptions

helpstyle.install()
app = typer.Typer(
    name="lookout",
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


site_cmds.register(app)
objects_cmds.register(app)
handling_cmds.register(app)
history_cmds.register(app)
admin_cmds.register(app)
notify_cmds.register(app)
user_cmds.register(app)
kube_cmds.register(app)
agent_cmds.register(app)
edit_cmds.register(app)
command_cmds.register(app)
checkrule_cmds.register(app)
config_cmds.register(app)
journey_cmds.register(app)
report_cmds.register(app)
sites_cmds.register(app)
bulk_cmds.register(app)
worker_cmds.register(app)
remote_cmds.register(app)
audit_cmds.register(app)
status_cmds.register(app)

if __name__ == "__main__":
    app()

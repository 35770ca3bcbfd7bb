"""``lookout config export|apply`` (configuration as code) and ``lookout import nagios``."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from lookout.cli.client import (
    LONG_TIMEOUT,
    ApiClient,
    ApiError,
    FieldError,
    SiteOpt,
    TokenOpt,
    UrlOpt,
    api_command,
    resolve_connection,
)
from lookout.cli.format import print_done, print_error, print_json, stdout
from lookout.configcode.files import (
    TreeError,
    default_cache,
    host_file,
    read_tree,
    write_tree,
)
from lookout.configcode.nagiosfiles import import_nagios
from lookout.errors import ConfigError

config_app = typer.Typer(
    help="Configuration as code: export the site to YAML files, apply files to the site.",
    no_args_is_help=True,
)
import_app = typer.Typer(help="Import configuration from other monitoring systems: nagios.")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON")]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Show what would change, change nothing")
]
DirArg = Annotated[Path, typer.Argument(help="Directory of the tree", show_default=False)]
SHOWN = 20
"""Names listed per kind and kind of change (the rest is counted)."""
KIND_ORDER = (
    "commands",
    "host_groups",
    "service_groups",
    "hosts",
    "services",
    "channels",
    "rules",
    "contacts",
    "downtimes",
    "check_rules",
)


# ---------------------------------------------------------------------- export
@config_app.command("export")
@api_command
def export(api: ApiClient, directory: DirArg, as_json: JsonOpt = False) -> None:
    """Write the site's configuration into DIR (one file per host; secrets as env:NAME)."""
    tree = api.get("/config")
    files = write_tree(directory, tree)
    if as_json:
        print_json({"directory": str(directory), "files": files, **_sizes(tree)})
        return
    sizes = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in _sizes(tree).items())
    print_done(f"exported {sizes} to {directory} ({files} files)")


def _sizes(tree: dict[str, Any]) -> dict[str, int]:
    out = {}
    for kind in KIND_ORDER:
        if kind == "services":
            if tree.get("hosts") is not None:
                out[kind] = sum(len(h.get("services", ())) for h in tree["hosts"])
        elif tree.get(kind) is not None:
            out[kind] = len(tree[kind])
    return out


# ---------------------------------------------------------------------- apply
def _read(directory: Path) -> dict[str, Any]:
    try:
        return read_tree(directory, os.environ, default_cache(directory, os.environ))
    except TreeError as exc:
        print_error(str(exc), exc.problems[:50])
        raise typer.Exit(2) from exc


@config_app.command("apply")
@api_command
def apply(
    api: ApiClient, directory: DirArg, dry_run: DryRunOpt = False, as_json: JsonOpt = False
) -> None:
    """Make the site match DIR: shows the diff (create / change / remove) and applies it.
    Only hosts and services labelled lookout/managed=config are ever removed."""
    started = time.monotonic()
    tree = _read(directory)
    report = _send(api, tree, dry_run)
    if as_json:
        print_json(report)
        return
    show_report(report, time.monotonic() - started)


def _send(api: ApiClient, tree: dict[str, Any], dry_run: bool) -> dict[str, Any]:
    path = "/config/apply?dry_run=true" if dry_run else "/config/apply"
    try:
        report: dict[str, Any] = api.post(path, tree, timeout=LONG_TIMEOUT)
    except ApiError as exc:
        if exc.status == 422 and exc.errors:
            exc.errors = [FieldError(loc=[], msg=where_in_files(e.loc, e.msg)) for e in exc.errors]
            exc.detail = f"the site refused the tree ({len(exc.errors)} problem(s))"
            exc.args = (exc.detail,)
        raise
    return report


FILE_OF = {
    "commands": "commands.yaml",
    "host_groups": "groups.yaml",
    "service_groups": "groups.yaml",
    "channels": "notifications.yaml",
    "rules": "notifications.yaml",
    "contacts": "notifications.yaml",
    "downtimes": "downtimes.yaml",
    "check_rules": "check-rules.yaml",
}


def where_in_files(loc: list[str | int], msg: str) -> str:
    """A site's error path in the tree → the file and the path inside it
    (``hosts.web1.services.HTTP.check`` → ``hosts/web1.yaml: services.HTTP.check``)."""
    if len(loc) >= 2 and loc[0] == "hosts" and isinstance(loc[1], str):
        rest = ".".join(map(str, loc[2:]))
        return f"{host_file(loc[1])}: {rest + ': ' if rest else ''}{msg}"
    if loc and loc[0] in FILE_OF:
        inner = ".".join(
            map(
                str,
                loc
                if loc[0] in ("host_groups", "service_groups", "channels", "rules", "contacts")
                else loc[1:],
            )
        )
        return f"{FILE_OF[str(loc[0])]}: {inner + ': ' if inner else ''}{msg}"
    where = ".".join(map(str, loc))
    return f"{where}: {msg}" if where else msg


def show_report(report: dict[str, Any], seconds: float | None = None) -> None:
    console = stdout()
    changes: dict[str, Any] = report.get("changes", {})
    if report.get("changed"):
        console.print(_table(changes, bool(report.get("dry_run"))))
    for kind, c in changes.items():
        _names(console, kind, c)
    for line in report.get("skipped", []):
        console.print(Text(f"  not applied: {line}", style="yellow"))
    took = f" in {seconds:.1f} s" if seconds is not None else ""
    if not report.get("changed"):
        print_done(f"nothing to change{took}")
    elif report.get("dry_run"):
        console.print(f"dry run{took}: nothing changed; run without --dry-run to apply")
    else:
        print_done(f"applied{took}")


def _table(changes: dict[str, Any], dry_run: bool) -> Table:
    table = Table(title="dry run" if dry_run else None)
    table.add_column("kind")
    for col, style in (("create", "green"), ("change", "yellow"), ("remove", "red")):
        table.add_column(col, justify="right", style=style)
    for kind in sorted(changes, key=lambda k: KIND_ORDER.index(k) if k in KIND_ORDER else 99):
        c = changes[kind]
        table.add_row(kind.replace("_", " "), str(c["create"]), str(c["change"]), str(c["remove"]))
    return table


def _names(console: Console, kind: str, c: dict[str, Any]) -> None:
    """The names per kind of change: the first :data:`SHOWN`, then how many more."""
    what = kind.removesuffix("s")
    for change, mark, style in (
        ("create", "+", "green"),
        ("change", "~", "yellow"),
        ("remove", "-", "red"),
    ):
        names = c["names"][change]
        for name in names[:SHOWN]:
            console.print(Text(f"  {mark} {what} {name}", style=style))
        if len(names) > SHOWN:
            console.print(Text(f"  {mark} … and {len(names) - SHOWN} more {kind}", style=style))


# ---------------------------------------------------------------------- import nagios
@import_app.command("nagios")
def nagios(
    main: Annotated[
        Path, typer.Argument(help="nagios.cfg (or one object file)", show_default=False)
    ],
    dry_run: DryRunOpt = False,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the tree into this directory instead of applying it"),
    ] = None,
    as_json: JsonOpt = False,
    site: SiteOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Translate a Nagios object configuration into a Lookout tree: write it (--out DIR), or
    apply it to the site (--dry-run: show the diff only). Lists what it could not translate."""
    started = time.monotonic()
    try:
        result = import_nagios(main)
    except ConfigError as exc:
        print_error(str(exc))
        raise typer.Exit(2) from exc
    notes = [str(n) for n in result.notes]
    summary = {"counts": result.counts.as_dict(), "warnings": notes}
    report = None
    if out is not None and not dry_run:
        write_tree(out, result.tree)
    elif out is None:
        report = _apply_imported(result.tree, dry_run, site=site, url=url, token=token)
    took = time.monotonic() - started
    if as_json:
        print_json({**summary, "out": str(out) if out else None, "apply": report})
        return
    console = stdout()
    counts = ", ".join(f"{n} {k}" for k, n in result.counts.as_dict().items())
    console.print(f"read {counts} from {main} in {took:.1f} s")
    for line in notes:
        console.print(Text(f"  warning: {line}", style="yellow"))
    if report is not None:
        show_report(report)
    elif out is not None and not dry_run:
        print_done(f"tree written to {out}: review it, then lookout config apply {out}")


def _apply_imported(
    tree: dict[str, Any], dry_run: bool, *, site: Path | None, url: str | None, token: str | None
) -> dict[str, Any]:
    try:
        conn = resolve_connection(url=url, token=token, site=site, env=os.environ, cwd=Path.cwd())
    except ConfigError as exc:
        print_error(f"{exc} (or give --out DIR to write the tree instead)")
        raise typer.Exit(2) from exc
    with ApiClient(conn, channel="import") as api:
        try:
            return _send(api, tree, dry_run)
        except ApiError as exc:
            print_error(str(exc), [str(e) for e in exc.errors][:50])
            raise typer.Exit(exc.exit_code) from exc


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")
    app.add_typer(import_app, name="import")

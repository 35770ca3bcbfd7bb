"""What ``lookout kube connect`` decides before it asks the site to store a cluster, one
function each: where the credentials come from, whether they can be used at all, whether the
cluster accepts them (with advice when not), and which permissions are missing."""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace
from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from lookout.cli.format import print_error, stdout
from lookout.errors import ConfigError
from lookout.sources.kube.connect import Verification, advice, verify
from lookout.sources.kube.credentials import (
    Credentials,
    Origin,
    load_kubeconfig,
    problems,
    read_token_file,
)

RBAC = "lookout kube rbac | kubectl apply -f -"


def read_ca_file(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read --ca-file {path}: {exc.strerror}") from exc


def credentials(
    kubeconfig: Path | None,
    context: str | None,
    server: str | None,
    token_file: Path | None,
    ca_file: Path | None,
    insecure: bool,
) -> tuple[Credentials, Origin]:
    """The credentials to use and where each part came from: ``--server`` with
    ``--token-file`` (and ``--ca-file``), or a kubeconfig context whose token and CA the
    flags replace when given."""
    ca = read_ca_file(ca_file) if ca_file is not None else None
    token = read_token_file(token_file) if token_file is not None else None
    if server:
        if token is None:
            raise ConfigError("--server needs --token-file (the ServiceAccount token)")
        creds = Credentials(server=server.rstrip("/"), token=token, ca_data=ca or "")
        origin = Origin(f"--token-file {token_file}", f"--ca-file {ca_file}" if ca else "")
    else:
        path = kubeconfig or default_kubeconfig()
        _, creds, origin = load_kubeconfig(path, context)
        if token is not None:
            creds = replace(creds, token=token, client_cert="", client_key="")
            origin = replace(origin, token=f"--token-file {token_file}")
        if ca is not None:
            creds = replace(creds, ca_data=ca)
            origin = replace(origin, ca=f"--ca-file {ca_file}")
    return (replace(creds, insecure=True) if insecure else creds), origin


def default_kubeconfig() -> Path:
    first = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
    return Path(first) if first else Path.home() / ".kube" / "config"


def check_usable(creds: Credentials, origin: Origin) -> None:
    """Exit 2 when the credentials cannot work, before talking to anyone."""
    if not creds.token and not (creds.client_cert and creds.client_key):
        print_error(f"{origin.kubeconfig or 'the flags'}: no bearer token; create one with {RBAC}")
        raise typer.Exit(2)
    unusable = problems(creds)
    if unusable:
        print_error(
            f"cannot use these credentials ({origin.summary}):",
            [f"{f}: {w}" for f, w in unusable],
        )
        raise typer.Exit(2)


def warn_insecure(creds: Credentials) -> None:
    if creds.insecure:
        stdout().print(
            Text(
                "WARNING: TLS verification is OFF for this cluster. Anyone on the path can "
                "read the token and fake the cluster's answers.",
                style="bold red",
            )
        )


def verified(creds: Credentials, origin: Origin, *, verbose: bool, force: bool) -> Verification:
    """Ask the cluster; exit 1 with advice when it cannot be used or (without ``force``) when
    a permission is missing."""
    out = stdout()
    out.print(f"Checking {creds.server} ({origin.summary}) …")
    v = asyncio.run(verify(creds))
    if v.failure is not None:
        said = advice(v.failure, creds, origin)
        print_error(said.problem, said.steps)
        raise typer.Exit(1)
    health = ", ".join(f"{p} {c}" for p, (c, _) in v.health.items())
    out.print(Text.assemble(("✓ ", "green"), f"API server {v.version}; {health}"))
    out.print(permission_report(v, verbose=verbose))
    if v.missing:
        also = "; connecting anyway (--force)" if force else " (or pass --force to connect anyway)"
        print_error(f"{len(v.missing)} permission(s) missing; grant them with: {RBAC}{also}")
        if not force:
            raise typer.Exit(1)
    return v


def permission_report(v: Verification, *, verbose: bool = False) -> Table | Text:
    """The missing permissions as a table (every one with ``verbose``); one line when all
    are granted."""
    if not v.missing and not verbose:
        return Text.assemble(("✓ ", "green"), f"all {len(v.permissions)} permissions granted")
    rows = v.permissions if verbose else [row for row in v.permissions if not row[1]]
    title = "Permissions" if verbose else "Missing permissions"
    table = Table(title=title, title_justify="left")
    table.add_column("")
    table.add_column("permission")
    table.add_column("note", style="dim")
    for perm, ok, why in rows:
        mark = Text("✓", "green") if ok else Text("✗", "bold red")
        table.add_row(mark, str(perm), "" if ok else why)
    return table

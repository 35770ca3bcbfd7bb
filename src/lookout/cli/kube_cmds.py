"""``lookout kube …``: connect Kubernetes clusters to a site and see how they are doing."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.table import Table
from rich.text import Text

from lookout.cli.client import ApiClient, api_command, path_of
from lookout.cli.format import print_done, print_error, print_json, relative, stdout
from lookout.errors import ConfigError
from lookout.sources.kube.connect import Verification, verify
from lookout.sources.kube.credentials import (
    Credentials,
    from_kubeconfig,
    problems,
    read_token_file,
)
from lookout.sources.kube.rbac import NAMESPACE, SECRET, manifest

kube_app = typer.Typer(
    help="Kubernetes clusters: RBAC manifest, connect, list, status, remove.", no_args_is_help=True
)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the API's JSON")]


@kube_app.command("rbac")
def rbac(
    namespace: Annotated[str, typer.Option(help="Namespace for the ServiceAccount")] = NAMESPACE,
) -> None:
    """Print the read-only RBAC manifest: `lookout kube rbac | kubectl apply -f -`."""
    print(manifest(namespace), end="")


def _credentials(
    kubeconfig: Path | None,
    context: str | None,
    server: str | None,
    token_file: Path | None,
    ca_file: Path | None,
    insecure: bool,
) -> tuple[Credentials, str]:
    """(credentials, where they came from)."""
    if server:
        if token_file is None:
            raise ConfigError("--server needs --token-file (the ServiceAccount token)")
        ca = ""
        if ca_file is not None:
            try:
                ca = ca_file.read_text()
            except OSError as exc:
                raise ConfigError(f"cannot read --ca-file {ca_file}: {exc.strerror}") from exc
        creds = Credentials(
            server=server.rstrip("/"),
            token=read_token_file(token_file),
            ca_data=ca,
            insecure=insecure,
        )
        return creds, server
    path = kubeconfig or Path(
        os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or Path.home() / ".kube" / "config"
    )
    ctx, creds = from_kubeconfig(path, context)
    if insecure and not creds.insecure:
        creds = Credentials(**{**_fields(creds), "insecure": True})
    return creds, f"{path} (context {ctx})"


def _fields(c: Credentials) -> dict[str, Any]:
    return {
        k: getattr(c, k)
        for k in ("server", "token", "ca_data", "client_cert", "client_key", "insecure")
    }


def _thresholds(path: Path) -> dict[str, Any]:
    """``params`` and ``rules`` from a YAML (or JSON) file; the site validates them."""
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        print_error(f"cannot read --thresholds {path}: {exc}")
        raise typer.Exit(2) from exc
    if not isinstance(doc, dict) or set(doc) - {"params", "rules"}:
        print_error(f"--thresholds {path}: expected a mapping with `params:` and/or `rules:`")
        raise typer.Exit(2)
    return {k: doc[k] for k in ("params", "rules") if k in doc}


def _report(v: Verification) -> Table:
    table = Table(title="Permissions", title_justify="left")
    table.add_column("")
    table.add_column("permission")
    table.add_column("note", style="dim")
    for perm, ok, why in v.permissions:
        table.add_row(
            Text("✓", "green") if ok else Text("✗", "bold red"), str(perm), "" if ok else why
        )
    return table


@kube_app.command("connect")
@api_command
def connect(
    api: ApiClient,
    name: Annotated[
        str,
        typer.Argument(
            help="Name of the cluster in Lookout (lower-case, digits, '-')", show_default=False
        ),
    ],
    kubeconfig: Annotated[
        Path | None, typer.Option(help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
    ] = None,
    context: Annotated[
        str | None, typer.Option(help="kubeconfig context (default: current-context)")
    ] = None,
    server: Annotated[
        str | None, typer.Option(help="API server URL (instead of a kubeconfig)")
    ] = None,
    token_file: Annotated[
        Path | None, typer.Option(help="File with the ServiceAccount token")
    ] = None,
    ca_file: Annotated[Path | None, typer.Option(help="PEM file of the cluster CA")] = None,
    insecure_skip_tls_verify: Annotated[
        bool,
        typer.Option(
            "--insecure-skip-tls-verify",
            help="Do not verify the API server's certificate (dangerous)",
        ),
    ] = False,
    reference_token_file: Annotated[
        bool,
        typer.Option(
            "--reference-token-file",
            help="Store the path of --token-file, not the token (read at each connect)",
        ),
    ] = False,
    usage: Annotated[str, typer.Option(help="Usage source: kubelet, prometheus, none")] = "kubelet",
    prometheus_url: Annotated[
        str | None, typer.Option(help="Prometheus URL for --usage prometheus")
    ] = None,
    pod_hosts: Annotated[
        list[str] | None,
        typer.Option(help="Pods with this label (KEY=VALUE, repeatable) get their own host"),
    ] = None,
    thresholds: Annotated[
        Path | None,
        typer.Option(
            "--thresholds",
            help="YAML/JSON file with `params:` (overrides) and `rules:` (match labels → params)",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Store the cluster even when permissions are missing")
    ] = False,
) -> None:
    """Verify a cluster (TLS, token, version, health, every permission) and add it to the site."""
    try:
        creds, source = _credentials(
            kubeconfig, context, server, token_file, ca_file, insecure_skip_tls_verify
        )
    except ConfigError as exc:
        print_error(str(exc))
        raise typer.Exit(2) from exc
    extra = _thresholds(thresholds) if thresholds is not None else {}
    bad = [p for p in pod_hosts or [] if "=" not in p]
    if bad:
        print_error(f"--pod-hosts expects KEY=VALUE, got {', '.join(map(repr, bad))}")
        raise typer.Exit(2)
    out = stdout()
    if creds.insecure:
        out.print(
            Text(
                "WARNING: TLS verification is OFF for this cluster. Anyone on the path can "
                "read the token and fake the cluster's answers.",
                style="bold red",
            )
        )
    if not creds.token and not (creds.client_cert and creds.client_key):
        print_error(
            f"{source}: no bearer token; create one with `lookout kube rbac | kubectl apply -f -`"
        )
        raise typer.Exit(2)
    unusable = problems(creds)
    if unusable:
        print_error(f"{source}: cannot use these credentials:", [f"{f}: {w}" for f, w in unusable])
        raise typer.Exit(2)
    out.print(f"Checking {creds.server} from {source} …")
    v = asyncio.run(verify(creds))
    if v.error:
        print_error(f"cannot use the cluster: {v.error}")
        raise typer.Exit(1)
    health = ", ".join(f"{p} {c}" for p, (c, _) in v.health.items())
    out.print(Text.assemble(("✓ ", "green"), f"API server {v.version}; {health}"))
    out.print(_report(v))
    if v.missing:
        print_error(
            f"{len(v.missing)} permission(s) missing "
            "(apply: lookout kube rbac | kubectl apply -f -):",
            [str(p) for p in v.missing],
        )
        if not force:
            raise typer.Exit(1)
    body: dict[str, Any] = {
        "name": name,
        "server": creds.server,
        "ca_data": creds.ca_data,
        "insecure_skip_tls_verify": creds.insecure,
        "usage": usage,
        "prometheus_url": prometheus_url or "",
    }
    if reference_token_file and token_file is not None:
        body["token_file"] = str(token_file.resolve())
    elif creds.token:
        body["token"] = creds.token
    else:  # a client certificate from the kubeconfig (the key is stored encrypted)
        body["client_cert"] = creds.client_cert
        body["client_key"] = creds.client_key
    body.update(extra)
    if pod_hosts:
        body["pod_hosts"] = dict(p.split("=", 1) for p in pod_hosts if "=" in p)
    api.post("/kube/clusters", body)
    print_done(
        f"cluster {name} added; its hosts appear within a minute: "
        f"lookout host list --label k8s/cluster={name}"
    )


@kube_app.command("list")
@api_command
def list_clusters(api: ApiClient, as_json: JsonOpt = False) -> None:
    """Clusters of the site and how their monitoring is doing."""
    answer = api.get("/kube/clusters")
    if as_json:
        print_json(answer)
        return
    table = Table()
    for col in (
        "cluster",
        "server",
        "version",
        "connected",
        "objects",
        "hosts",
        "evaluated",
        "auth",
    ):
        table.add_column(col)
    now = time.time()
    for c in answer["items"]:
        st = c["status"]
        conn = (
            Text("yes", "green")
            if st.get("connected")
            else Text(f"no {st.get('error', '')}".strip(), "red")
        )
        table.add_row(
            c["name"],
            c["server"],
            st.get("server_version", ""),
            conn,
            str(st.get("objects", "")),
            str(st.get("hosts", "")),
            relative(st.get("last_evaluation"), now),
            c["auth"],
        )
    stdout().print(table)


@kube_app.command("status")
@api_command
def status(
    api: ApiClient,
    name: Annotated[str, typer.Argument(show_default=False)],
    as_json: JsonOpt = False,
) -> None:
    """One cluster in detail."""
    c = api.get(path_of("kube", "clusters", name))
    if as_json:
        print_json(c)
        return
    out = stdout()
    st = c["status"]
    out.print(Text(f"{c['name']}  {c['server']}", style="bold"))
    for label, value in (
        ("auth", c["auth"]),
        ("CA", c["ca"]),
        ("TLS verification", "OFF" if c["insecure_skip_tls_verify"] else "on"),
        ("connected", "yes" if st.get("connected") else f"no: {st.get('error', '')}"),
        ("API server", st.get("server_version", "")),
        ("objects", st.get("objects", "")),
        ("hosts", st.get("hosts", "")),
        ("relists", st.get("relists", "")),
        ("watch changes", st.get("watch_changes", "")),
        ("not permitted", ", ".join(st.get("denied", [])) or "-"),
        ("last evaluation", relative(st.get("last_evaluation"), time.time())),
    ):
        out.print(f"  {label:16} {value}")


@kube_app.command("remove")
@api_command
def remove(api: ApiClient, name: Annotated[str, typer.Argument(show_default=False)]) -> None:
    """Stop monitoring a cluster and remove its hosts (their history stays)."""
    api.delete(path_of("kube", "clusters", name))
    print_done(f"cluster {name} removed")


def register(app: typer.Typer) -> None:
    app.add_typer(kube_app, name="kube")


__all__ = ["SECRET", "register"]

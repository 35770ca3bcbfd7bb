"""``lookout kube …``: connect Kubernetes clusters to a site and see how they are doing."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
import yaml
from rich.table import Table
from rich.text import Text

from lookout.cli import kube_verify
from lookout.cli.client import ApiClient, api_command, path_of
from lookout.cli.format import (
    human_duration,
    param_parser,
    parse_interval,
    print_done,
    print_error,
    print_json,
    relative,
    stdout,
)
from lookout.errors import ConfigError
from lookout.sources.kube.credentials import Credentials, read_token_file
from lookout.sources.kube.rbac import NAMESPACE, SECRET, manifest

T = TypeVar("T")
WAIT_STEP = 0.3
"""Seconds between looks at a cluster that is reconnecting after ``kube set``."""

kube_app = typer.Typer(
    help="Kubernetes clusters: RBAC manifest, connect, set, list, status, remove.",
    no_args_is_help=True,
)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the API's JSON")]


@kube_app.command("rbac")
def rbac(
    namespace: Annotated[str, typer.Option(help="Namespace for the ServiceAccount")] = NAMESPACE,
) -> None:
    """Print the read-only RBAC manifest: `lookout kube rbac | kubectl apply -f -`."""
    print(manifest(namespace), end="")


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


def _selector(pod_hosts: list[str]) -> dict[str, str]:
    bad = [p for p in pod_hosts if "=" not in p]
    if bad:
        print_error(f"--pod-hosts expects KEY=VALUE, got {', '.join(map(repr, bad))}")
        raise typer.Exit(2)
    return dict(p.split("=", 1) for p in pod_hosts)


def _credential(creds: Credentials, token_file: Path | None, reference: bool) -> dict[str, Any]:
    """How the site gets the token: the file's path (``--reference-token-file``), the token
    (sealed there), or a client certificate from the kubeconfig (its key sealed)."""
    if reference and token_file is not None:
        return {"token_file": str(token_file.resolve())}
    if creds.token:
        return {"token": creds.token}
    return {"client_cert": creds.client_cert, "client_key": creds.client_key}


def _exit_on_config_error(func: Callable[[], T]) -> T:
    try:
        return func()
    except ConfigError as exc:
        print_error(str(exc))
        raise typer.Exit(2) from exc


def _wait_time(text: str) -> float:
    """``--wait``: a duration, or 0 for not at all."""
    return 0.0 if text.strip() in ("0", "0s") else parse_interval(text)


NameArg = Annotated[
    str,
    typer.Argument(
        help="Name of the cluster in Lookout (lower-case, digits, '-')", show_default=False
    ),
]
TokenFileOpt = Annotated[Path | None, typer.Option(help="File with the ServiceAccount token")]
CaFileOpt = Annotated[Path | None, typer.Option(help="PEM file of the cluster CA")]
ReferenceOpt = Annotated[
    bool,
    typer.Option(
        "--reference-token-file",
        help="Store the path of --token-file, not the token (read at each connect)",
    ),
]
IntervalOpt = Annotated[
    float | None,
    typer.Option(
        parser=param_parser(parse_interval),
        metavar="DURATION",
        help="Time between full reads of the cluster, like 60 or 5m (default: the site's)",
    ),
]
PrometheusOpt = Annotated[str | None, typer.Option(help="Prometheus URL for --usage prometheus")]
PodHostsOpt = Annotated[
    list[str] | None,
    typer.Option(help="Pods with this label (KEY=VALUE, repeatable) get their own host"),
]
ThresholdsOpt = Annotated[
    Path | None,
    typer.Option(
        "--thresholds",
        help="YAML/JSON file with `params:` (overrides) and `rules:` (match labels → params)",
    ),
]


@kube_app.command("connect")
@api_command
def connect(
    api: ApiClient,
    name: NameArg,
    kubeconfig: Annotated[
        Path | None, typer.Option(help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
    ] = None,
    context: Annotated[
        str | None, typer.Option(help="kubeconfig context (default: current-context)")
    ] = None,
    server: Annotated[
        str | None, typer.Option(help="API server URL (instead of a kubeconfig)")
    ] = None,
    token_file: TokenFileOpt = None,
    ca_file: CaFileOpt = None,
    insecure_skip_tls_verify: Annotated[
        bool,
        typer.Option(
            "--insecure-skip-tls-verify",
            help="Do not verify the API server's certificate (dangerous)",
        ),
    ] = False,
    reference_token_file: ReferenceOpt = False,
    interval: IntervalOpt = None,
    usage: Annotated[str, typer.Option(help="Usage source: kubelet, prometheus, none")] = "kubelet",
    prometheus_url: PrometheusOpt = None,
    pod_hosts: PodHostsOpt = None,
    thresholds: ThresholdsOpt = None,
    force: Annotated[
        bool, typer.Option(help="Store the cluster even when permissions are missing")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="List every permission, granted or not")
    ] = False,
) -> None:
    """Verify a cluster (TLS, token, version, health, every permission) and add it to the site."""
    creds, origin = _exit_on_config_error(
        lambda: kube_verify.credentials(
            kubeconfig, context, server, token_file, ca_file, insecure_skip_tls_verify
        )
    )
    body: dict[str, Any] = {
        "name": name,
        "interval": interval,
        "usage": usage,
        "prometheus_url": prometheus_url or "",
        **(_thresholds(thresholds) if thresholds is not None else {}),
    }
    if pod_hosts:
        body["pod_hosts"] = _selector(pod_hosts)
    kube_verify.warn_insecure(creds)
    kube_verify.check_usable(creds, origin)
    kube_verify.verified(creds, origin, verbose=verbose, force=force)
    body |= {
        "server": creds.server,
        "ca_data": creds.ca_data,
        "insecure_skip_tls_verify": creds.insecure,
        **_credential(creds, token_file, reference_token_file),
    }
    api.post("/kube/clusters", body)
    print_done(
        f"cluster {name} added; its hosts appear within a minute: "
        f"lookout host list --label k8s/cluster={name}"
    )


@kube_app.command("set")
@api_command
def set_settings(
    api: ApiClient,
    name: Annotated[str, typer.Argument(help="The connected cluster", show_default=False)],
    server: Annotated[str | None, typer.Option(help="API server URL")] = None,
    token_file: TokenFileOpt = None,
    reference_token_file: ReferenceOpt = False,
    ca_file: CaFileOpt = None,
    system_ca: Annotated[
        bool, typer.Option("--system-ca", help="Trust the system's CAs instead of a cluster CA")
    ] = False,
    tls_verify: Annotated[
        bool | None,
        typer.Option(
            "--verify-tls/--insecure-skip-tls-verify",
            help="Verify the API server's certificate (or not: dangerous)",
            show_default=False,
        ),
    ] = None,
    interval: IntervalOpt = None,
    site_interval: Annotated[
        bool, typer.Option("--site-interval", help="Use the site's interval again")
    ] = False,
    usage: Annotated[
        str | None, typer.Option(help="Usage source: kubelet, prometheus, none")
    ] = None,
    prometheus_url: PrometheusOpt = None,
    pod_hosts: PodHostsOpt = None,
    no_pod_hosts: Annotated[
        bool, typer.Option("--no-pod-hosts", help="No pod gets its own host")
    ] = False,
    thresholds: ThresholdsOpt = None,
    wait: Annotated[
        float,
        typer.Option(
            parser=param_parser(_wait_time),
            metavar="DURATION",
            help="How long to wait for the cluster to connect with them, like 15 or 1m (0: do not)",
        ),
    ] = 15.0,
    as_json: JsonOpt = False,
) -> None:
    """Change a connected cluster's settings in place; its monitor restarts with them (hosts
    and their history stay). Options not given keep their value."""
    patch: dict[str, Any] = {
        "server": server,
        "usage": usage,
        "prometheus_url": prometheus_url,
        "interval": interval,
    }
    if token_file is not None:
        token = _exit_on_config_error(lambda: read_token_file(token_file))
        patch |= _credential(Credentials("", token=token), token_file, reference_token_file)
    if ca_file is not None or system_ca:
        patch["ca_data"] = (
            _exit_on_config_error(lambda: kube_verify.read_ca_file(ca_file)) if ca_file else ""
        )
    if tls_verify is not None:
        patch["insecure_skip_tls_verify"] = not tls_verify
    if thresholds is not None:
        patch |= _thresholds(thresholds)
    if pod_hosts:
        patch["pod_hosts"] = _selector(pod_hosts)
    patch = {k: v for k, v in patch.items() if v is not None}
    if site_interval:
        patch["interval"] = None
    if no_pod_hosts:
        patch["pod_hosts"] = None
    if not patch:
        print_error("nothing to change: give at least one setting (lookout kube set --help)")
        raise typer.Exit(2)
    answer = api.patch(path_of("kube", "clusters", name), patch)
    if not as_json:
        changed = ", ".join(patch)  # the names only: never a token
        print_done(f"cluster {name}: {changed} changed; reconnecting with the new settings …")
    if wait > 0:
        answer = _reconnected(api, name, wait)
    if as_json:
        print_json(answer)
    else:
        _report_reconnect(name, answer["status"], wait)


def _reconnected(api: ApiClient, name: str, wait: float) -> Any:
    """The cluster once its new monitor has connected or failed, or after ``wait`` seconds."""
    deadline = time.monotonic() + wait
    while True:
        answer = api.get(path_of("kube", "clusters", name))
        st = answer["status"]
        done = st.get("connected") or st.get("error") or not st.get("monitoring")
        if done or time.monotonic() > deadline:
            return answer
        time.sleep(WAIT_STEP)


def _report_reconnect(name: str, st: dict[str, Any], wait: float) -> None:
    if not st.get("monitoring"):
        stdout().print("the site does not monitor Kubernetes now ([kubernetes] enabled = false)")
    elif st.get("connected"):
        print_done(f"connected: API server {st.get('server_version', '')}")
    elif st.get("error"):
        print_error(
            f"cluster {name} does not connect with the new settings: {st['error']}",
            [f"the settings are stored; correct them with lookout kube set {name} …"],
        )
        raise typer.Exit(1)
    else:
        late = f"not connected yet after {human_duration(wait)}" if wait > 0 else "not waited for"
        stdout().print(f"{late}: lookout kube status {name} shows when it is")


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
        *_settings(c.get("options") or {}),
    ):
        out.print(f"  {label:16} {value}")


def _selector_text(pods: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in pods.items()) or "every pod"


def _settings(opts: dict[str, Any]) -> list[tuple[str, str]]:
    """What ``lookout kube set`` changes, as ``status`` shows it."""
    usage = opts.get("usage", "kubelet")
    if usage == "prometheus":
        usage += f" {opts.get('prometheus_url', '')}"
    pods = opts.get("pod_hosts")
    rules = len(opts.get("rules") or [])
    return [
        ("interval", human_duration(opts["interval"]) if opts.get("interval") else "the site's"),
        ("usage", usage),
        ("pod hosts", "-" if pods is None else _selector_text(pods)),
        ("thresholds", f"{len(opts.get('params') or {})} overrides, {rules} rules"),
    ]


@kube_app.command("remove")
@api_command
def remove(api: ApiClient, name: Annotated[str, typer.Argument(show_default=False)]) -> None:
    """Stop monitoring a cluster and remove its hosts (their history stays)."""
    api.delete(path_of("kube", "clusters", name))
    print_done(f"cluster {name} removed")


def register(app: typer.Typer) -> None:
    app.add_typer(kube_app, name="kube")


__all__ = ["SECRET", "register"]

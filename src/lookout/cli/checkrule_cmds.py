"""``lookout check-rule …``: parameters for a check type on the checks a rule matches."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from lookout.checks.active.rules import parse_params
from lookout.cli.client import ApiClient, api_command, path_of
from lookout.cli.format import parse_labels, print_done, print_json, stdout

rule_app = typer.Typer(
    help="Check rules, parameters for checks by label: add, list, show, remove.",
    no_args_is_help=True,
)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the API's JSON")]
NameArg = Annotated[str, typer.Argument(help="Rule name (tls-prod)", show_default=False)]
Many = Annotated[list[str] | None, typer.Option(show_default=False)]


def _params(items: list[str] | None) -> dict[str, Any]:
    try:
        return parse_params(items or [])
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--param") from exc


def _labels(items: list[str] | None, hint: str) -> dict[str, str]:
    try:
        return parse_labels(items or [])
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=hint) from exc


@rule_app.command("add")
@api_command
def add(
    api: ApiClient,
    name: NameArg,
    check_type: Annotated[
        str, typer.Option("--type", help="Check type it sets params for: tls, ping, http, …")
    ],
    param: Annotated[
        list[str] | None, typer.Option(help="FIELD=VALUE of the check type (repeat)")
    ] = None,
    host: Annotated[list[str] | None, typer.Option(help="Host name glob (repeat)")] = None,
    service: Annotated[list[str] | None, typer.Option(help="Service name glob (repeat)")] = None,
    host_label: Annotated[
        list[str] | None, typer.Option(help="Host label KEY=GLOB that must match (repeat)")
    ] = None,
    service_label: Annotated[
        list[str] | None, typer.Option(help="Service label KEY=GLOB that must match (repeat)")
    ] = None,
    objects: Annotated[str, typer.Option(help="any, hosts or services")] = "any",
    description: Annotated[str, typer.Option(help="What the rule is for")] = "",
    position: Annotated[
        int | None, typer.Option(help="Place in the order, 0 first (default: last)")
    ] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Replace an existing rule")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Add a rule; the first rule matching a check supplies the params the check does not set."""
    body: dict[str, Any] = {
        "name": name,
        "check_type": check_type,
        "objects": objects,
        "description": description,
        "hosts": host or [],
        "services": service or [],
        "host_labels": _labels(host_label, "--host-label"),
        "service_labels": _labels(service_label, "--service-label"),
        "params": _params(param),
    }
    if position is not None:
        body["position"] = position
    answer = (
        api.put(path_of("check-rules", name), body) if replace else api.post("/check-rules", body)
    )
    if as_json:
        print_json(answer)
        return
    print_done(
        f"check rule {name} {'set' if replace else 'added'} at position {answer['position']}"
    )


@rule_app.command("list")
@api_command
def list_rules(api: ApiClient, as_json: JsonOpt = False) -> None:
    """The rules in order: for each check, the first that matches supplies its params."""
    answer = api.get("/check-rules")
    if as_json:
        print_json(answer)
        return
    table = Table()
    for col in ("#", "rule", "type", "matches", "params"):
        table.add_column(col)
    for r in answer["items"]:
        table.add_row(
            str(r["position"]), r["name"], r["check_type"], _conditions(r), _shown_params(r)
        )
    stdout().print(table)


def _conditions(rule: dict[str, Any]) -> Text:
    parts = [] if rule["objects"] == "any" else [rule["objects"]]
    parts += [f"host {g}" for g in rule["hosts"]] + [f"service {g}" for g in rule["services"]]
    parts += [f"{k}={v}" for k, v in rule["host_labels"].items()]
    parts += [f"service {k}={v}" for k, v in rule["service_labels"].items()]
    return Text(", ".join(parts) or "every check of the type")


def _shown_params(rule: dict[str, Any]) -> Text:
    return Text(" ".join(f"{k}={json.dumps(v)}" for k, v in rule["params"].items()) or "-")


@rule_app.command("show")
@api_command
def show(api: ApiClient, name: NameArg, as_json: JsonOpt = False) -> None:
    """One rule and the checks it supplies params to."""
    r = api.get(path_of("check-rules", name))
    if as_json:
        print_json(r)
        return
    out = stdout()
    out.print(Text(f"{r['name']} (#{r['position']}, {r['check_type']})", style="bold"))
    if r["description"]:
        out.print(Text(f"  {r['description']}"))
    out.print(Text("  matches   ").append(_conditions(r)))
    out.print(Text("  params    ").append(_shown_params(r)))
    shown = ", ".join(r["applies_to"]) or "-"
    more = r["applies_total"] - len(r["applies_to"])
    out.print(
        Text(f"  applies to {r['applies_total']}: {shown}" + (f" … {more} more" if more else ""))
    )


@rule_app.command("remove")
@api_command
def remove(api: ApiClient, name: NameArg) -> None:
    """Remove a rule (its checks fall back to the next matching rule, else the defaults)."""
    api.delete(path_of("check-rules", name))
    print_done(f"check rule {name} removed")


def register(app: typer.Typer) -> None:
    app.add_typer(rule_app, name="check-rule")

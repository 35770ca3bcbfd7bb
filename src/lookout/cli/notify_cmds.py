"""``lookout notifications …``: delivery history, dry runs, rules and channels."""

from __future__ import annotations

import json
import time
import tomllib
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from lookout.cli.client import ApiClient, api_command, path_of
from lookout.cli.format import print_done, print_json, relative, state_text, stdout

app = typer.Typer(
    help="Notifications: list (deliveries), test (a dry run), rules, channels, contacts, apply, "
    "remove-rule, remove-channel.",
    no_args_is_help=True,
)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the API's JSON")]
STATUS_STYLE = {"sent": "green", "pending": "yellow", "sending": "cyan", "failed": "red"}


@app.command("list")
@api_command
def list_deliveries(
    api: ApiClient,
    status: Annotated[str | None, typer.Option(help="pending, sent, failed, cancelled")] = None,
    channel: Annotated[str | None, typer.Option(help="Only this channel")] = None,
    host: Annotated[str | None, typer.Option(help="Only this host")] = None,
    service: Annotated[str | None, typer.Option(help="Only this service")] = None,
    limit: Annotated[int, typer.Option(help="Newest N deliveries")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Delivery history, newest first."""
    answer = api.get(
        "/notifications/deliveries",
        {"status": status, "channel": channel, "host": host, "service": service, "limit": limit},
    )
    if as_json:
        print_json(answer)
        return
    now = time.time()
    table = Table(title=f"{answer['total']} deliveries", title_justify="left")
    for col in ("id", "when", "kind", "object", "channel → recipient", "status", "tries", "error"):
        table.add_column(col)
    for d in answer["items"]:
        obj = f"{d['host']}/{d['service']}" if d["service"] else d["host"]
        state = d["payload"].get("state", "")
        kind = Text(d["kind"] + " ")
        if state:
            kind.append_text(state_text(state))
        table.add_row(
            str(d["id"]),
            relative(d["sent_at"] or d["created_at"], now),
            kind,
            obj,
            f"{d['channel']} → {d['recipient']}",
            Text(d["status"], style=STATUS_STYLE.get(d["status"], "")),
            str(d["attempts"]),
            d["error"][:60],
        )
    stdout().print(table)


@app.command("test")
@api_command
def dry_run(
    api: ApiClient,
    rule: Annotated[str | None, typer.Argument(help="Rule name (default: all rules)")] = None,
    host: Annotated[str, typer.Option(help="Host of the imagined event")] = "example-host",
    service: Annotated[str, typer.Option(help="Service ('' for the host)")] = "",
    state: Annotated[
        str | None, typer.Option(help="State name (default CRIT, or DOWN for a host)")
    ] = None,
    kind: Annotated[str, typer.Option(help="problem, recovery, acknowledgement, …")] = "problem",
    number: Annotated[int, typer.Option(help="Notification number (escalation)")] = 1,
    soft: Annotated[bool, typer.Option(help="A soft state")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Dry run: who would get what for an event (nothing is sent)."""
    answer = api.post(
        "/notifications/test",
        {
            "rule": rule,
            "host": host,
            "service": service,
            "state": state,
            "kind": kind,
            "number": number,
            "state_type": "soft" if soft else "hard",
        },
    )
    if as_json:
        print_json(answer)
        return
    out = stdout()
    for step in answer["trace"]:
        style = "green" if step["result"].startswith("matched") else "dim"
        out.print(Text(f"{step['rule']}: {step['result']}", style=style))
    if not answer["deliveries"]:
        out.print(Text("Nobody would be notified.", style="yellow"))
        return
    table = Table(title="Would notify", title_justify="left")
    for col in ("rule", "channel", "recipient", "delay"):
        table.add_column(col)
    for d in answer["deliveries"]:
        delay = f"{d['delay']:g} s" if d["delay"] else "-"
        table.add_row(d["rule"], d["channel"], d["recipient"], delay)
    out.print(table)


@app.command("rules")
@api_command
def list_rules(api: ApiClient, as_json: JsonOpt = False) -> None:
    """The rules, in the order they are evaluated."""
    answer = api.get("/notifications/rules")
    if as_json:
        print_json(answer)
        return
    table = Table(title=f"{answer['total']} rules", title_justify="left")
    for col in ("name", "action", "events", "match", "channels", "delay/repeat"):
        table.add_column(col)
    for r in answer["items"]:
        match = ", ".join(
            f"{k}={r[k]}"
            for k in ("hosts", "services", "states", "labels", "host_groups")
            if r.get(k)
        )
        timing = f"{r['delay']:g}s / {r['repeat_every']:g}s"
        table.add_row(
            r["name"],
            r["action"],
            ", ".join(r["events"]),
            match or "any",
            ", ".join(r["channels"]),
            timing,
        )
    stdout().print(table)


@app.command("channels")
@api_command
def list_channels(api: ApiClient, as_json: JsonOpt = False) -> None:
    """Configured channels (secrets masked)."""
    answer = api.get("/notifications/channels")
    if as_json:
        print_json(answer)
        return
    table = Table(title=f"{answer['total']} channels", title_justify="left")
    for col in ("name", "type", "target"):
        table.add_column(col)
    for c in answer["items"]:
        s = c["spec"]
        target = s.get("stream") or s.get("url") or s.get("host") or ", ".join(s.get("urls", []))
        table.add_row(c["name"], s["type"], str(target))
    stdout().print(table)


@app.command("apply")
@api_command
def apply_file(
    api: ApiClient,
    path: Annotated[Path, typer.Argument(help="TOML or JSON with channels, contacts, rules")],
) -> None:
    """Create or replace the channels, contacts and rules in a file (validated by the site)."""
    data = _read_notify_file(path)
    for section, endpoint in (
        ("channels", "channels"),
        ("contacts", "contacts"),
        ("rules", "rules"),
    ):
        for item in data.get(section, []):
            api.post(f"/notifications/{endpoint}", item)
            print_done(f"{section[:-1]} {item.get('name') or item.get('user')} saved")


def _read_notify_file(path: Path) -> dict[str, Any]:
    """The file's channels, contacts and rules; a usage error saying where it is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
        data: Any = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # TOML/JSON errors are ValueErrors
        raise typer.BadParameter(f"{path}: {exc}", param_hint="PATH") from None
    if not isinstance(data, dict):
        raise typer.BadParameter(
            f"{path}: expected channels, contacts and rules", param_hint="PATH"
        )
    for section in ("channels", "contacts", "rules"):
        if not isinstance(data.get(section, []), list):
            raise typer.BadParameter(f"{path}: {section} must be a list", param_hint="PATH")
    return data


@app.command("contacts")
@api_command
def list_contacts(api: ApiClient, as_json: JsonOpt = False) -> None:
    """Contacts: the users notifications go to, and their groups."""
    answer = api.get("/notifications/contacts")
    if as_json:
        print_json(answer)
        return
    table = Table(title=f"{answer['total']} contacts", title_justify="left")
    for col in ("user", "groups", "details"):
        table.add_column(col)
    for c in answer["items"]:
        details = ", ".join(
            f"{k}={v}" for k, v in c.items() if k not in ("user", "groups") and v not in ("", None)
        )
        table.add_row(c["user"], ", ".join(c.get("groups") or []), details)
    stdout().print(table)


@app.command("remove-rule")
@api_command
def remove_rule(api: ApiClient, name: Annotated[str, typer.Argument(help="Rule name")]) -> None:
    """Remove a rule."""
    api.delete(path_of("notifications", "rules", name))
    print_done(f"rule {name} removed")


app.command("delete-rule", hidden=True, help="Remove a rule (old name of remove-rule).")(
    remove_rule
)


@app.command("remove-channel")
@api_command
def remove_channel(
    api: ApiClient, name: Annotated[str, typer.Argument(help="Channel name")]
) -> None:
    """Remove a channel."""
    api.delete(path_of("notifications", "channels", name))
    print_done(f"channel {name} removed")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="notifications")

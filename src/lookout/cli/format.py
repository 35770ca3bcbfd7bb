"""What the CLI reads from people (durations, times, labels) and what it shows them (tables).

States are always spelled out *and* coloured, so nothing depends on telling red from green.
Times are relative ("3m ago", "in 2h"); the clock (``now``) is passed in.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar, cast

import typer
from rich.console import Console, Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from lookout.domain import durations
from lookout.domain.states import state_name
from lookout.domain.values import is_time

Item = Mapping[str, Any]
T = TypeVar("T")
R = TypeVar("R")

STATE_STYLES = {
    "OK": "green",
    "UP": "green",
    "WARN": "yellow",
    "CRIT": "bold red",
    "DOWN": "bold red",
    "UNREACHABLE": "red",
    "UNKNOWN": "magenta",
    "PENDING": "dim",
}


# ---------------------------------------------------------------------- parsing
def parse_duration(text: str) -> float:
    """``90s``, ``15m``, ``2h30m``, ``1d``, ``1w`` → seconds (:mod:`lookout.domain.durations`)."""
    return durations.parse_duration(text)


def parse_interval(text: str) -> float:
    """Plain seconds (``90``) or a duration (``90s``, ``5m``, ``1h30m``)."""
    return durations.parse_duration(text, plain_seconds=True)


def parse_time(text: str) -> float:
    """Unix seconds or ISO 8601; without a time zone it is local time."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(
            f"time {text!r}: expected ISO 8601 (2025-06-01T14:00, local time unless it has a "
            "zone) or Unix seconds"
        ) from exc
    return (dt if dt.tzinfo else dt.astimezone()).timestamp()


def parse_labels(items: Iterable[str]) -> dict[str, str]:
    """``["env=prod", "team=db"]`` → ``{"env": "prod", "team": "db"}``."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"label {item!r}: expected key=value")
        out[key.strip()] = value
    return out


def parse_json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{what}: not valid JSON ({exc})") from exc
    if not isinstance(value, dict):
        raise ValueError(f"{what}: expected a JSON object {{...}}, got {type(value).__name__}")
    return value


def parsed(parse: Callable[[T], R], value: T, hint: str) -> R:
    """``parse(value)``; a ValueError becomes a usage error (exit 2) naming ``hint``."""
    try:
        return parse(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=hint) from exc


def param_parser(parse: Callable[[str], R]) -> Callable[[str], R]:
    """A typer ``parser=`` that keeps our message (click would only echo the value). A default
    that is already parsed (``300.0`` for ``5m``) passes through."""

    def parser(value: str) -> R:
        if not isinstance(value, str):
            return cast(R, value)
        try:
            return parse(value)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from exc

    return parser


# ---------------------------------------------------------------------- small pieces
def human_duration(seconds: float) -> str:
    """Roughly: 42 → ``42s``; 200 → ``3m``; 7500 → ``2h5m``; 90000 → ``1d1h``."""
    return durations.format_duration(seconds, parts=1 if abs(seconds) < 3600 else 2)


def relative(at: float | None, now: float) -> str:
    """``3m ago``, ``in 2h``, ``just now``, or ``never``."""
    if at is None:
        return "never"
    delta = now - at
    if abs(delta) < 1:
        return "just now"
    return f"{human_duration(delta)} ago" if delta > 0 else f"in {human_duration(delta)}"


def local_time(at: float | None) -> str:
    if at is None:
        return "-"
    if not is_time(at):
        return f"{at:g} (not a time)"
    return datetime.fromtimestamp(at).astimezone().strftime("%Y-%m-%d %H:%M")


def state_text(name: str) -> Text:
    return Text(name, style=STATE_STYLES.get(name, ""))


def item_state(item: Item) -> Text:
    """The state of a host or service view, with ``(soft 1/3)`` while not hard."""
    text = state_text(str(item.get("state_name", "")))
    if item.get("state_type") == "soft" and item.get("checked"):
        text.append(f" (soft {item['attempt']}/{item['max_check_attempts']})", style="dim")
    return text


def handled_marks(item: Item) -> list[str]:
    """Why a problem needs nobody: ack, downtime, host downtime, host down."""
    marks = []
    if item.get("acknowledged"):
        ack = item.get("acknowledgement") or {}
        marks.append(f"ack by {ack['author']}" if ack.get("author") else "ack")
    if item.get("in_downtime"):
        marks.append("downtime")
    if item.get("host_in_downtime"):
        marks.append("host downtime")
    if item.get("handled") and (item.get("host_problem") or not marks):
        marks.append("host down")
    return marks


def labels_text(labels: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in labels.items())


def _object(host: str, service: str | None) -> str:
    return f"{host}/{service}" if service else host


# ---------------------------------------------------------------------- tables
def hosts_table(items: Iterable[Item], now: float) -> Table:
    table = Table("Host", "State", "Address", "Services", "Since", "Labels", "Summary")
    for h in items:
        table.add_row(
            escape(h["name"]),
            item_state(h),
            escape(h.get("address") or ""),
            _service_counts(h.get("services") or {}),
            relative(h.get("last_state_change"), now),
            escape(labels_text(h.get("labels") or {})),
            escape(h.get("summary") or ""),
        )
    return table


def _service_counts(counts: Item) -> Text:
    """``5 (1 CRIT, 2 WARN)``: the total, then the services not OK."""
    text = Text(str(counts.get("total", 0)))
    bad = [
        (k, n)
        for k, n in (("crit", "CRIT"), ("unknown", "UNKNOWN"), ("warn", "WARN"))
        if counts.get(k)
    ]
    for i, (key, name) in enumerate(bad):
        text.append(" (" if i == 0 else ", ")
        text.append(f"{counts[key]} {name}", style=STATE_STYLES[name])
    if bad:
        text.append(")")
    return text


def services_table(items: Iterable[Item], now: float, *, title: str | None = None) -> Table:
    table = Table(
        "Host", "Service", "State", "Since", "Last check", "Handled", "Summary", title=title
    )
    for s in items:
        table.add_row(
            escape(s["host"]),
            escape(s["name"]),
            item_state(s),
            relative(s.get("last_state_change"), now),
            relative(s.get("last_check"), now),
            ", ".join(handled_marks(s)),
            escape(s.get("summary") or ""),
        )
    return table


def problems_view(items: Sequence[Item], now: float) -> Table | Text:
    """Unhandled first; within that the API's order (worst, then oldest)."""
    if not items:
        return Text("No problems.", style="green")
    ordered = sorted(items, key=lambda s: bool(s.get("handled")))
    unhandled = sum(1 for s in items if not s.get("handled"))
    title = f"{len(items)} problem{'s' if len(items) != 1 else ''}, {unhandled} unhandled"
    return services_table(ordered, now, title=title)


def host_view(host: Item, services: list[Item], now: float) -> Group:
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    state = item_state(host)
    marks = handled_marks(host)
    if marks:
        state.append(f"  [{', '.join(marks)}]", style="dim")
    rows: list[tuple[str, str | Text]] = [
        ("Host", escape(host["name"])),
        ("State", state),
        ("Summary", escape(host.get("summary") or "")),
        ("Since", relative(host.get("last_state_change"), now)),
        ("Last check", relative(host.get("last_check"), now)),
        ("Address", escape(host.get("address") or "-")),
        ("Labels", escape(labels_text(host.get("labels") or {})) or "-"),
        ("Parents", escape(", ".join(host.get("parents") or [])) or "-"),
        ("Groups", escape(", ".join(host.get("groups") or [])) or "-"),
    ]
    for key, value in rows:
        facts.add_row(key, value)
    if not services:
        return Group(facts, Text("No services.", style="dim"))
    return Group(facts, services_table(services, now))


def downtimes_table(items: Iterable[Item], now: float) -> Table:
    table = Table("ID", "Object", "Start", "End", "Status", "Kind", "Author", "Comment")
    for d in items:
        kind = "fixed" if d.get("fixed", True) else f"flexible {human_duration(d['duration'])}"
        if d.get("recurrence"):
            kind += f", cron {d['recurrence']}"
        if d.get("include_services"):
            kind += ", +services"
        status = Text("active", style="bold") if d.get("active") else Text("scheduled")
        table.add_row(
            str(d["id"]),
            escape(_object(d["host"], d.get("service"))),
            f"{local_time(d['start'])} ({relative(d['start'], now)})",
            f"{local_time(d['ends_at'])} ({relative(d['ends_at'], now)})",
            status,
            escape(kind),
            escape(d.get("author") or ""),
            escape(d.get("comment") or ""),
        )
    return table


def events_table(items: Iterable[Item], now: float) -> Table:
    table = Table("When", "Type", "Object", "State", "By", "Text")
    for e in items:
        state = e.get("state")
        shown = (
            state_text(state_name(state, is_host=not e.get("service")))
            if state is not None
            else Text("")
        )
        if state is not None and e.get("state_type"):
            shown.append(f" {e['state_type']}", style="dim")
        table.add_row(
            relative(e["at"], now),
            str(e["type"]),
            escape(_object(e["host"], e.get("service"))),
            shown,
            escape(e.get("author") or ""),
            escape(e.get("summary") or e.get("comment") or ""),
        )
    return table


def tokens_table(items: Iterable[Item], now: float) -> Table:
    table = Table("ID", "Name", "User", "Role", "Created", "Expires")
    for t in items:
        expires = relative(t["expires_at"], now) if t.get("expires_at") else "never"
        table.add_row(
            str(t["id"]),
            escape(t["name"]),
            escape(t["user"]),
            t["role"],
            relative(t.get("created_at"), now),
            expires,
        )
    return table


def users_table(items: Iterable[Item], now: float) -> Table:
    table = Table("User", "Role", "Email", "Password", "Created")
    for u in items:
        table.add_row(
            escape(u["name"]),
            u["role"],
            escape(u.get("email") or ""),
            "yes" if u.get("has_password") else "no",
            relative(u.get("created_at"), now),
        )
    return table


# ---------------------------------------------------------------------- output
def stdout() -> Console:
    """A console made per command, so it follows the terminal (and COLUMNS) of the moment."""
    return Console()


def print_json(data: Any) -> None:
    """The API's JSON, as it came, for scripts."""
    print(json.dumps(data, indent=2, ensure_ascii=False))


def print_done(message: str) -> None:
    stdout().print(Text.assemble(("✓ ", "green"), message))


def print_answer(answer: Any, as_json: bool, message: str) -> None:
    """The API's answer with ``--json``, else ``message`` with a check mark."""
    if as_json:
        print_json(answer)
    else:
        print_done(message)


def print_error(message: str, details: Iterable[str] = ()) -> None:
    err = Console(stderr=True)
    err.print(Text.assemble(("error: ", "bold red"), message))
    for line in details:
        err.print(Text(f"  • {line}"))

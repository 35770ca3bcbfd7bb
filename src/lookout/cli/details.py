"""What the CLI shows of one service and of handling history: the service's facts,
acknowledgements, comments, and a summary of metric series (no graphs: numbers to read)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from lookout.cli.format import (
    Item,
    handled_marks,
    human_duration,
    item_state,
    labels_text,
    local_time,
    relative,
    state_text,
)
from lookout.domain.states import state_name


def facts_grid(rows: Iterable[tuple[str, str | Text]]) -> Table:
    """Two columns, the name in bold: the head of a ``show`` command."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    for key, value in rows:
        grid.add_row(key, value)
    return grid


def check_text(item: Item) -> str:
    """``passive``, or the check's type with its interval and retry interval."""
    check = item.get("check")
    if not check:
        return "passive"
    every = human_duration(item.get("check_interval") or 0)
    retry = human_duration(item.get("retry_interval") or 0)
    return f"{check.get('type', '?')} every {every} (retry {retry})"


def service_view(svc: Item, now: float) -> Group:
    state = item_state(svc)
    marks = handled_marks(svc)
    if marks:
        state.append(f"  [{', '.join(marks)}]", style="dim")
    handler = svc.get("event_handler") or {}
    rows: list[tuple[str, str | Text]] = [
        ("Service", escape(f"{svc['host']}/{svc['name']}")),
        ("State", state),
        ("Summary", escape(svc.get("summary") or "")),
        ("Since", relative(svc.get("last_state_change"), now)),
        ("Last check", relative(svc.get("last_check"), now)),
        ("Check", escape(check_text(svc))),
        ("Attempts", f"{svc.get('attempt', 0)}/{svc.get('max_check_attempts', '?')}"),
        ("Labels", escape(labels_text(svc.get("labels") or {})) or "-"),
        ("Params", escape(_compact(svc.get("params"))) or "-"),
        ("Event handler", escape(handler.get("command", "")) or "-"),
    ]
    if svc.get("long_output"):
        rows.append(("Output", escape(svc["long_output"])))
    metrics = svc.get("metrics") or []
    if not metrics:
        return Group(facts_grid(rows))
    table = Table("Metric", "Value", "Warn", "Crit")
    for m in metrics:
        table.add_row(
            escape(m["name"]),
            f"{_num(m.get('value'))}{escape(m.get('unit') or '')}",
            _num(m.get("warn")),
            _num(m.get("crit")),
        )
    return Group(facts_grid(rows), table)


def acknowledgements_table(items: Iterable[Item], now: float) -> Table:
    table = Table("Object", "State", "By", "Since", "Expires", "Sticky", "Comment")
    for a in items:
        is_host = not a.get("service")
        table.add_row(
            escape(_name(a["host"], a.get("service"))),
            state_text(state_name(a["state"], is_host=is_host)),
            escape(a.get("author") or ""),
            relative(a.get("set_at") or None, now),
            relative(a["expire_at"], now) if a.get("expire_at") else "never",
            "yes" if a.get("sticky") else "no",
            escape(a.get("comment") or ""),
        )
    return table


def comments_table(items: Iterable[Item], now: float) -> Table:
    table = Table("ID", "Object", "When", "By", "Kind", "Text")
    for c in sorted(items, key=lambda c: c.get("at") or 0):
        table.add_row(
            str(c["id"]),
            escape(_name(c["host"], c.get("service"))),
            f"{local_time(c.get('at'))} ({relative(c.get('at'), now)})",
            escape(c.get("author") or ""),
            escape(c.get("kind") or ""),
            escape(c.get("text") or ""),
        )
    return table


def metrics_table(answer: Item, now: float) -> Table | Text:
    """One row per series of ``GET /metrics``: how many points, min / average / max, the last
    point (an average over ``step`` from ``At``), and the levels."""
    series: Sequence[Item] = answer.get("series") or []
    if not series:
        return Text("No metrics in this time range.", style="dim")
    span = human_duration(answer["end"] - answer["start"])
    step = human_duration(answer["step"])
    table = Table(
        "Metric", "Points", "Min", "Avg", "Max", "Last", "At", "Warn", "Crit",
        title=f"last {span}, one point per {step}",
        title_justify="left",
    )  # fmt: skip
    for s in series:
        points = [(at, v) for at, v in s.get("points") or [] if v is not None]
        values = [v for _, v in points]
        unit = escape(s.get("unit") or "")
        if values:
            last_at, last = points[-1]
            low, avg, high = min(values), sum(values) / len(values), max(values)
            cells = [f"{_num(low)}{unit}", f"{_num(avg)}{unit}", f"{_num(high)}{unit}"]
            cells += [f"{_num(last)}{unit}", local_time(last_at)]
        else:
            cells = ["-", "-", "-", "-", "-"]
        table.add_row(
            escape(s["name"]), str(len(values)), *cells, _num(s.get("warn")), _num(s.get("crit"))
        )
    return table


def _name(host: str, service: str | None) -> str:
    return f"{host}/{service}" if service else host


def _num(value: Any) -> str:
    return "-" if value is None else f"{value:.4g}"


def _compact(value: Any) -> str:
    if not value:
        return ""
    return ", ".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else ""

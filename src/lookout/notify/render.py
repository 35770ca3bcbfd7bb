"""Plain text, Markdown and HTML renderings shared by the channels."""

from __future__ import annotations

import html
import time

from lookout.domain.values import is_time
from lookout.notify.model import Notification, Outgoing

TITLES = {
    "problem": "PROBLEM",
    "recovery": "RECOVERY",
    "acknowledgement": "ACKNOWLEDGED",
    "ack_removed": "ACK REMOVED",
    "downtime_start": "DOWNTIME STARTED",
    "downtime_end": "DOWNTIME ENDED",
    "downtime_cancel": "DOWNTIME CANCELLED",
    "flapping_start": "FLAPPING",
    "flapping_stop": "FLAPPING STOPPED",
    "test": "TEST",
}
STATE_ICONS = {
    "OK": "🟢",
    "UP": "🟢",
    "WARN": "🟡",
    "CRIT": "🔴",
    "DOWN": "🔴",
    "UNREACHABLE": "🟠",
    "UNKNOWN": "🟣",
}


def bundle_head(msg: Outgoing) -> str:
    """``50 problems arrived together``, ``50 recovered``: what a bundle holds."""
    kind = msg.notes[0].kind
    if kind == "problem":
        return f"{msg.total} problems arrived together"
    if kind == "recovery":
        return f"{msg.total} recovered"
    return f"{msg.total} × {TITLES.get(kind, kind.upper())}"


def stamp(ts: float) -> str:
    if not is_time(ts):
        return f"{ts:g} (not a time)"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))


def title(note: Notification) -> str:
    kind = TITLES.get(note.kind, note.kind.upper())
    state = f" {note.state}" if note.state else ""
    return f"{kind}{state}: {note.object}"


def affected(note: Notification) -> str:
    """The services that depend on the notified one (they do not notify on their own)."""
    names = note.extra.get("affects") or []
    return ", ".join(str(n) for n in names)


def subject(msg: Outgoing) -> str:
    if msg.bundled:
        return f"{bundle_head(msg)}: " + ", ".join(n.object for n in msg.notes[:3])
    return title(msg.notes[0])


def text(msg: Outgoing) -> str:
    """Plain text (email body, apprise)."""
    if msg.bundled:
        lines = [f"{bundle_head(msg)}:", ""]
        lines += [f"- {n.state} {n.object}: {n.summary}" for n in msg.listed]
        if msg.total > len(msg.listed):
            lines.append(f"… and {msg.total - len(msg.listed)} more")
        return "\n".join(lines)
    n = msg.notes[0]
    lines = [title(n), ""]
    if n.summary:
        lines.append(n.summary)
    if n.since:
        lines.append(f"Since: {stamp(n.since)}")
    if n.author:
        lines.append(f"By: {n.author}" + (f" — {n.comment}" if n.comment else ""))
    if affects := affected(n):
        lines.append(f"Affects: {affects}")
    if n.number > 1:
        lines.append(f"Notification number {n.number}")
    if n.url:
        lines.append(n.url)
    return "\n".join(lines)


def html_body(msg: Outgoing) -> str:
    """HTML alternative of :func:`text` (email)."""
    esc = html.escape
    if msg.bundled:
        items = "".join(
            f"<li><b>{esc(n.state)}</b> {esc(n.object)}: {esc(n.summary)}</li>" for n in msg.listed
        )
        more = msg.total - len(msg.listed)
        tail = f"<p>… and {more} more</p>" if more > 0 else ""
        return f"<p>{esc(bundle_head(msg))}:</p><ul>{items}</ul>{tail}"
    n = msg.notes[0]
    parts = [f"<h3>{esc(title(n))}</h3>"]
    if n.summary:
        parts.append(f"<p>{esc(n.summary)}</p>")
    if n.since:
        parts.append(f"<p>Since: {esc(stamp(n.since))}</p>")
    if n.author:
        by = esc(n.author) + (f" — {esc(n.comment)}" if n.comment else "")
        parts.append(f"<p>By: {by}</p>")
    if affects := affected(n):
        parts.append(f"<p>Affects: {esc(affects)}</p>")
    if n.url:
        parts.append(f'<p><a href="{esc(n.url)}">{esc(n.url)}</a></p>')
    return "".join(parts)

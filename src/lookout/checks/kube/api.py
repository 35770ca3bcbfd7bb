"""What a Kubernetes check returns, and small helpers shared by the check modules.

Checks are pure: they get the objects (typed sections), the thresholds and the time, and
return an :class:`Outcome`. No I/O, no clock, no globals.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from lookout.checks import levels
from lookout.domain.metrics import Metric

OK, WARN, CRIT, UNKNOWN = levels.OK, levels.WARN, levels.CRIT, levels.UNKNOWN
STATE_MARK = ("", " (!)", " (!!)", " (?)")
"""Appended to a detail line that caused a state (Checkmk's convention)."""


class Outcome(msgspec.Struct, frozen=True, gc=False):
    """State 0..3, a one-line summary, detail lines and metrics of one service."""

    state: int
    summary: str
    details: str = ""
    metrics: tuple[Metric, ...] = ()


worst = levels.worst
upper = levels.upper
lower = levels.lower


def seconds_since(at: datetime | None, now: float) -> float | None:
    return None if at is None else max(0.0, now - at.timestamp())


def human_age(seconds: float | None) -> str:
    """``3d 4h``, ``12m``, ``45s``."""
    if seconds is None:
        return "unknown"
    s = int(seconds)
    if s >= 86400:
        return f"{s // 86400}d {s % 86400 // 3600}h"
    if s >= 3600:
        return f"{s // 3600}h {s % 3600 // 60}m"
    if s >= 60:
        return f"{s // 60}m"
    return f"{s}s"


def human_bytes(value: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def cores(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".") if value < 10 else f"{value:.1f}"


def percent(part: float, whole: float) -> float:
    return 100.0 * part / whole if whole > 0 else 0.0


def mark(state: int) -> str:
    return STATE_MARK[state]


def metric(
    name: str,
    value: float,
    unit: str = "",
    levels: tuple[float, float] | None = None,
    *,
    lo: float | None = None,
    hi: float | None = None,
) -> Metric:
    warn, crit = levels if levels is not None else (None, None)
    return Metric(name=name, value=float(value), unit=unit, warn=warn, crit=crit, min=lo, max=hi)

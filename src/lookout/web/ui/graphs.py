"""Metric graphs and state timelines as inline SVG, drawn on the server.

No charting library in the browser: the page stays light, works without JavaScript, and the
graphs look the same in screenshots. The SVG uses CSS classes (``g-line``, ``g-warn``,
``g-crit``…) so the light and dark themes colour them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from lookout.domain.values import is_time

W, H = 1000.0, 200.0
LEFT, RIGHT, TOP, BOTTOM = 64.0, 10.0, 10.0, 24.0

RANGES: dict[str, tuple[float, float]] = {
    # name: (seconds shown, seconds per point)
    "4h": (4 * 3600, 60),
    "25h": (25 * 3600, 300),
    "8d": (8 * 86400, 3600),
    "1y": (365 * 86400, 86400),
}


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    unit: str
    warn: float | None
    crit: float | None
    points: Sequence[tuple[float, float | None]]


def fmt(value: float, unit: str = "") -> str:
    """A short human number: 1.2k, 3.4M, 0.012; bytes get binary prefixes."""
    if unit == "B":
        for prefix in ("", "Ki", "Mi", "Gi", "Ti"):
            if abs(value) < 1024:
                return f"{value:.3g} {prefix}B"
            value /= 1024
        return f"{value:.3g} PiB"
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}{unit and ' ' + unit}"
    return f"{value:.3g}{unit and ' ' + unit}"


def nice_ticks(lo: float, hi: float, count: int = 4) -> list[float]:
    """Round axis values (steps of 1, 2, 2.5 or 5 × 10^k) from below ``lo`` to above ``hi``."""
    raw = (hi - lo) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(lo / step) * step
    last = math.ceil(hi / step) * step
    n = round((last - first) / step)
    return [first + i * step for i in range(n + 1)]


def _stamp(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if is_time(ts) else "?"


def _time_label(ts: float, span: float) -> str:
    if not is_time(ts):
        return "?"
    t = time.localtime(ts)
    if span <= 2 * 86400:
        return time.strftime("%H:%M", t)
    if span <= 40 * 86400:
        return time.strftime("%a %d", t)
    return time.strftime("%b %Y", t)


def graph(s: Series, start: float, end: float) -> Markup:
    """One metric as a line with its warn/crit levels; gaps where no data came."""
    ticks = _value_ticks(s)
    frame = _Frame(start, max(end - start, 1.0), ticks[0], ticks[-1])
    parts = [
        f'<svg class="graph" viewBox="0 0 {W:.0f} {H:.0f}" role="img" '
        f'aria-label="{escape(s.name)} over time">',
        f'<rect class="g-bg" x="{LEFT}" y="{TOP}" width="{W - LEFT - RIGHT}" '
        f'height="{H - TOP - BOTTOM}"/>',
        *_value_axis(frame, ticks, s.unit),
        *_time_axis(frame),
        *_levels(frame, s),
        *_lines(frame, s.points),
    ]
    if not any(v is not None for _, v in s.points):
        parts.append(
            f'<text class="g-empty" x="{W / 2}" y="{H / 2}" text-anchor="middle">'
            "no data in this range</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


@dataclass(frozen=True, slots=True)
class _Frame:
    """Where a time and a value land on the canvas: ``start`` … ``start + span`` across,
    ``lo`` … ``hi`` up."""

    start: float
    span: float
    lo: float
    hi: float

    def x(self, ts: float) -> float:
        return LEFT + (ts - self.start) / self.span * (W - LEFT - RIGHT)

    def y(self, v: float) -> float:
        ph = H - TOP - BOTTOM
        return TOP + ph - (v - self.lo) / (self.hi - self.lo) * ph


def _value_ticks(s: Series) -> list[float]:
    """The value axis: round ticks around the data, the levels and zero."""
    values = [v for _, v in s.points if v is not None]
    levels = [x for x in (s.warn, s.crit) if x is not None]
    lo = min([*values, *levels, 0.0]) if values else 0.0
    hi = max([*values, *levels]) if values or levels else 1.0
    return nice_ticks(lo, hi if hi > lo else lo + 1.0)


def _value_axis(f: _Frame, ticks: list[float], unit: str) -> list[str]:
    return [
        f'<line class="g-grid" x1="{LEFT}" x2="{W - RIGHT}" y1="{f.y(v):.1f}" y2="{f.y(v):.1f}"/>'
        f'<text class="g-axis" x="{LEFT - 4}" y="{f.y(v) + 4:.1f}" text-anchor="end">'
        f"{escape(fmt(v, unit))}</text>"
        for v in ticks
    ]


def _time_axis(f: _Frame) -> list[str]:
    """Five time labels: the start, three between, the end."""
    out = []
    for i in range(5):
        ts = f.start + f.span * i / 4
        anchor = "start" if i == 0 else "end" if i == 4 else "middle"
        out.append(
            f'<text class="g-axis" x="{f.x(ts):.1f}" y="{H - 6}" text-anchor="{anchor}">'
            f"{escape(_time_label(ts, f.span))}</text>"
        )
    return out


def _levels(f: _Frame, s: Series) -> list[str]:
    """The warn and crit lines that fall inside the value axis."""
    return [
        f'<line class="{cls}" x1="{LEFT}" x2="{W - RIGHT}" '
        f'y1="{f.y(level):.1f}" y2="{f.y(level):.1f}"><title>{cls[2:]} '
        f"{escape(fmt(level, s.unit))}</title></line>"
        for cls, level in (("g-warn", s.warn), ("g-crit", s.crit))
        if level is not None and f.lo <= level <= f.hi
    ]


def _lines(f: _Frame, points: Sequence[tuple[float, float | None]]) -> list[str]:
    """The data: a line per run of points, a dot for a lone point."""
    out = []
    for run in _runs(points, bridge=f.span / 12):
        if len(run) == 1:
            ts, v = run[0]
            out.append(f'<circle class="g-dot" cx="{f.x(ts):.1f}" cy="{f.y(v):.1f}" r="2"/>')
        else:
            pts = " ".join(f"{f.x(ts):.1f},{f.y(v):.1f}" for ts, v in run)
            out.append(f'<polyline class="g-line" points="{pts}"/>')
    return out


def _runs(
    points: Sequence[tuple[float, float | None]], bridge: float
) -> list[list[tuple[float, float]]]:
    """Lines through the points with values. Empty buckets shorter than ``bridge`` seconds are
    bridged (data coming every 5 min into 1-min buckets is one line); longer ones are gaps."""
    runs: list[list[tuple[float, float]]] = [[]]
    for ts, v in points:
        if v is None or math.isnan(v):
            continue
        if runs[-1] and ts - runs[-1][-1][0] > bridge:
            runs.append([])
        runs[-1].append((ts, v))
    return [r for r in runs if r]


@dataclass(frozen=True, slots=True)
class Segment:
    start: float
    end: float
    css: str
    label: str


def timeline(segments: Sequence[Segment], start: float, end: float) -> Markup:
    """A bar of state segments over time (colour plus a text title per segment)."""
    span = max(end - start, 1.0)
    parts = [
        f'<svg class="timeline" viewBox="0 0 {W:.0f} 20" role="img" '
        'aria-label="state history" preserveAspectRatio="none">'
    ]
    for seg in segments:
        x0 = (max(seg.start, start) - start) / span * W
        x1 = (min(seg.end, end) - start) / span * W
        if x1 <= x0:
            continue
        parts.append(
            f'<rect class="t-{seg.css}" x="{x0:.1f}" y="0" width="{max(x1 - x0, 1):.1f}" '
            f'height="20"><title>{escape(seg.label)} from '
            f"{_stamp(seg.start)}</title></rect>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))

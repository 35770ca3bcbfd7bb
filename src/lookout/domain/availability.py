"""Availability of one object over a period, from its state changes and downtimes.

A report answers, per host or service: how long it was in each state, in downtime, with its
host down, or not monitored at all; its outages; and whether an SLA target was met. The
object's *counted* state moves with its hard state changes (soft ones too if asked), so a
soft problem that recovered on the next check is not an outage unless the report says so.

Pure: the caller hands in the events (see ``storage.reports``); times are Unix seconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

SERVICE_BUCKETS = ("ok", "warn", "crit", "unknown")
HOST_BUCKETS = ("up", "down", "unreachable")
EXTRA_BUCKETS = ("downtime", "host_down", "unmonitored")


class DowntimeMode(StrEnum):
    SEPARATE = "separate"
    """Time in downtime is its own column and left out of the percentage (default)."""
    OK = "ok"
    """Time in downtime counts as OK/UP."""
    IGNORE = "ignore"
    """Downtimes change nothing: the actual state counts."""


@dataclass(frozen=True, slots=True)
class Options:
    start: float
    end: float
    downtime: DowntimeMode = DowntimeMode.SEPARATE
    soft_states: bool = False
    """Count soft problem states (Nagios and Thruk count hard states only by default)."""
    host_down: bool = False
    """A service's time while its host was not UP is its own column (``host_down``)."""
    sla: float | None = None
    """Target availability in percent (e.g. 99.9); None: no verdict."""


@dataclass(frozen=True, slots=True)
class Change:
    """One thing that moved the object's timeline."""

    at: float
    kind: str
    """``state`` (``state``, ``hard``), ``dt_start``/``dt_end`` (``downtime_id``), ``host``
    (the host's counted state, for the ``host_down`` column)."""
    state: int = 0
    hard: bool = True
    downtime_id: int = 0


@dataclass(frozen=True, slots=True)
class Outage:
    start: float
    end: float
    state: int
    """The worst state of the outage."""
    ongoing: bool

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(slots=True)
class Segment:
    """A stretch of the timeline in one bucket (for the UI's bar)."""

    start: float
    end: float
    bucket: str


@dataclass(slots=True)
class Availability:
    host: str
    service: str
    seconds: dict[str, float]
    outages: list[Outage] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    sla: float | None = None

    @property
    def is_host(self) -> bool:
        return not self.service

    @property
    def good(self) -> str:
        return "up" if self.is_host else "ok"

    @property
    def percent(self) -> float | None:
        """Share of the monitored time (downtime left out unless counted as OK) that was
        OK/UP; None when no time counts."""
        counted = sum(v for k, v in self.seconds.items() if k not in ("unmonitored", "downtime"))
        if counted <= 0:
            return None
        return 100.0 * self.seconds[self.good] / counted

    @property
    def sla_met(self) -> bool | None:
        pct = self.percent
        return None if self.sla is None or pct is None else pct >= self.sla

    def as_dict(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "service": self.service or None,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
            "percent": None if self.percent is None else round(self.percent, 4),
            "sla": self.sla,
            "sla_met": self.sla_met,
            "outages": [
                {
                    "start": o.start,
                    "end": o.end,
                    "duration": round(o.duration, 3),
                    "state": o.state,
                    "ongoing": o.ongoing,
                }
                for o in self.outages
            ],
        }


def compute(
    host: str,
    service: str,
    opts: Options,
    initial: tuple[int, bool] | None,
    created_at: float,
    changes: Iterable[Change],
    downtimes_at_start: Sequence[int] = (),
    host_state_at_start: int = 0,
) -> Availability:
    """The availability of one object.

    ``initial``: its last state change before ``opts.start`` as (state, hard), or None when
    it had none (then it counts as OK/UP from ``created_at`` on, as a first OK result makes no
    event, and as unmonitored before). ``changes``: what happened within the period, in time
    order. ``downtimes_at_start``: ids of downtimes covering it at the start.
    """
    buckets = HOST_BUCKETS if not service else SERVICE_BUCKETS
    seconds = dict.fromkeys((*buckets, *EXTRA_BUCKETS), 0.0)
    timeline = _Timeline(opts, bool(service))
    state = 0
    if initial is not None:
        state = initial[0] if (initial[1] or opts.soft_states) else 0
    timeline.state = state
    timeline.hard_state = initial[0] if initial is not None and initial[1] else 0
    timeline.downtimes = set(downtimes_at_start)
    timeline.host_state = host_state_at_start
    monitored_from = max(opts.start, created_at) if initial is None else opts.start
    timeline.at = opts.start
    if monitored_from > opts.start:
        timeline.advance(min(monitored_from, opts.end), seconds, unmonitored=True)
    for ch in changes:
        at = min(max(ch.at, timeline.at), opts.end)
        timeline.advance(at, seconds)
        timeline.apply(ch)
    timeline.advance(opts.end, seconds)
    report = Availability(host, service, seconds, sla=opts.sla)
    report.segments = timeline.segments
    report.outages = _outages(timeline.segments, buckets, opts.end)
    return report


class _Timeline:
    def __init__(self, opts: Options, is_service: bool) -> None:
        self.opts = opts
        self.is_service = is_service
        self.at = opts.start
        self.state = 0
        self.hard_state = 0
        self.downtimes: set[int] = set()
        self.host_state = 0
        self.segments: list[Segment] = []

    def bucket(self) -> str:
        names = SERVICE_BUCKETS if self.is_service else HOST_BUCKETS
        actual = names[min(self.state, len(names) - 1)]
        if self.downtimes and self.opts.downtime is DowntimeMode.SEPARATE:
            return "downtime"
        if self.downtimes and self.opts.downtime is DowntimeMode.OK:
            return names[0]
        if self.is_service and self.opts.host_down and self.host_state != 0:
            return "host_down"
        return actual

    def advance(self, to: float, seconds: dict[str, float], unmonitored: bool = False) -> None:
        if to <= self.at:
            return
        bucket = "unmonitored" if unmonitored else self.bucket()
        seconds[bucket] += to - self.at
        last = self.segments[-1] if self.segments else None
        if last is not None and last.bucket == bucket and last.end == self.at:
            last.end = to
        else:
            self.segments.append(Segment(self.at, to, bucket))
        self.at = to

    def apply(self, ch: Change) -> None:
        if ch.kind == "state":
            if ch.hard:
                self.hard_state = ch.state
                self.state = ch.state
            elif self.opts.soft_states:
                self.state = ch.state
            else:
                self.state = self.hard_state
        elif ch.kind == "dt_start":
            self.downtimes.add(ch.downtime_id)
        elif ch.kind == "dt_end":
            self.downtimes.discard(ch.downtime_id)
        elif ch.kind == "host":
            self.host_state = ch.state


def _outages(segments: list[Segment], buckets: Sequence[str], end: float) -> list[Outage]:
    """Stretches in a problem state, neighbours merged (WARN then CRIT is one outage)."""
    problems = {name: i for i, name in enumerate(buckets) if i > 0}
    out: list[Outage] = []
    for seg in segments:
        state = problems.get(seg.bucket)
        if state is None:
            continue
        prev = out[-1] if out else None
        if prev is not None and prev.end == seg.start:
            worst = _worse(prev.state, state, len(buckets) == len(HOST_BUCKETS))
            out[-1] = Outage(prev.start, seg.end, worst, seg.end >= end)
        else:
            out.append(Outage(seg.start, seg.end, state, seg.end >= end))
    return out


def _worse(a: int, b: int, host: bool) -> int:
    """CRIT over UNKNOWN over WARN (as the problem list orders them); DOWN over UNREACHABLE."""
    rank = {1: 2, 2: 1} if host else {2: 3, 3: 2, 1: 1}
    return a if rank.get(a, 0) >= rank.get(b, 0) else b

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


Change = tuple[float, int, int, bool, int, str, str]
"""One thing that moved an object's timeline: ``(at, kind, state, hard, downtime_id, host,
service)`` with ``kind`` one of ``STATE`` (its state; ``hard`` says whether hard),
``DT_START``/``DT_END`` (a downtime), ``HOST`` (its host's counted state, for the
``host_down`` column); ``host``/``service``: the object it happened to (a service's report
also sees its host's downtimes). Plain tuples, as the database gives them: a month of a big
site is millions of them."""
STATE, DT_START, DT_END, HOST = 0, 1, 2, 3


def change(
    at: float,
    kind: int,
    state: int = 0,
    hard: bool = True,
    downtime_id: int = 0,
    host: str = "",
    service: str = "",
) -> Change:
    return (at, kind, state, hard, downtime_id, host, service)


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
    segments: bool = False,
) -> Availability:
    """The availability of one object.

    ``initial``: its last state change before ``opts.start`` as (state, hard), or None when
    it had none (then it counts as OK/UP from ``created_at`` on, as a first OK result makes no
    event, and as unmonitored before). ``changes``: what happened within the period, in time
    order. ``downtimes_at_start``: ids of downtimes covering it at the start. ``segments``:
    also keep the timeline's stretches (for a bar), not only the sums.
    """
    names = SERVICE_BUCKETS if service else HOST_BUCKETS
    n_states, is_host = len(names), not service
    # buckets by index: the states, then downtime, host down, unmonitored
    downtime_b, host_down_b, unmonitored_b = n_states, n_states + 1, n_states + 2
    sums = [0.0] * (n_states + 3)
    separate = opts.downtime is DowntimeMode.SEPARATE
    as_ok = opts.downtime is DowntimeMode.OK
    count_soft, split_host = opts.soft_states, opts.host_down and bool(service)
    start, end = opts.start, opts.end

    hard_state = initial[0] if initial is not None and initial[1] else 0
    state = initial[0] if initial is not None and (initial[1] or count_soft) else hard_state
    active = set(downtimes_at_start)
    host_state = host_state_at_start
    stretches: list[Segment] = []
    outages: list[Outage] = []
    outage_start = outage_worst = -1.0

    def bucket() -> int:
        if active and separate:
            return downtime_b
        if active and as_ok:
            return 0
        if split_host and host_state != 0:
            return host_down_b
        return state if state < n_states else n_states - 1

    at = start
    if initial is None and created_at > start:
        at = min(created_at, end)
        sums[unmonitored_b] += at - start
        if segments:
            stretches.append(Segment(start, at, "unmonitored"))
    current = bucket()
    if 0 < current < n_states:  # a problem already when the period (or the object) starts
        outage_start, outage_worst = at, current
    for ch_at, kind, ch_state, hard, dt_id, _host, _service in changes:
        if ch_at > at:
            to = ch_at if ch_at < end else end
            sums[current] += to - at
            if segments:
                _extend(stretches, at, to, current, names)
            at = to
        if kind == STATE:
            if hard:
                hard_state = state = ch_state
            else:
                state = ch_state if count_soft else hard_state
        elif kind == DT_START:
            active.add(dt_id)
        elif kind == DT_END:
            active.discard(dt_id)
        else:
            host_state = ch_state
        new = bucket()
        if new != current:
            if 0 < new < n_states:  # in a problem now: one begins, or the one going on worsens
                if outage_start < 0:
                    outage_start, outage_worst = at, new
                else:
                    outage_worst = _worse(int(outage_worst), new, is_host)
            elif outage_start >= 0:
                outages.append(Outage(outage_start, at, int(outage_worst), False))
                outage_start = -1.0
            current = new
    if end > at:
        sums[current] += end - at
        if segments:
            _extend(stretches, at, end, current, names)
    if outage_start >= 0:
        outages.append(Outage(outage_start, end, int(outage_worst), True))
    seconds = dict(zip((*names, *EXTRA_BUCKETS), sums, strict=True))
    return Availability(host, service, seconds, outages, stretches, opts.sla)


def _extend(stretches: list[Segment], at: float, to: float, b: int, names: Sequence[str]) -> None:
    name = (*names, *EXTRA_BUCKETS)[b]
    last = stretches[-1] if stretches else None
    if last is not None and last.bucket == name and last.end == at:
        last.end = to
    else:
        stretches.append(Segment(at, to, name))


def _worse(a: int, b: int, host: bool) -> int:
    """CRIT over UNKNOWN over WARN (as the problem list orders them); DOWN over UNREACHABLE."""
    rank = {1: 2, 2: 1} if host else {2: 3, 3: 2, 1: 1}
    return a if rank.get(a, 0) >= rank.get(b, 0) else b

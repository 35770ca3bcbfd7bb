"""The agent check-plugin contract: pure ``discover(sections)`` and
``check(ctx, params, sections)``; the clock and the per-host value store come in ``ctx``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import msgspec
from lookout_agent.wire import Sections

from lookout.domain.metrics import Metric

P = TypeVar("P")

OK, WARN, CRIT, UNKNOWN = 0, 1, 2, 3


class ValueStore:
    """Last values of counters for one host, to turn them into rates."""

    def __init__(self, data: dict[str, tuple[float, float]] | None = None) -> None:
        self.data: dict[str, tuple[float, float]] = data if data is not None else {}

    def rate(self, key: str, now: float, value: float, since: float | None = None) -> float | None:
        """Per-second rate since the last value; the first time, the average since ``since``
        (the boot time: counters start at zero) or None; None after a counter reset."""
        last = self.data.get(key)
        if last is None and since is not None:
            last = (since, 0.0)
        self.data[key] = (now, value)
        if last is None or now <= last[0] or value < last[1]:
            return None
        return (value - last[1]) / (now - last[0])

    def remember(self, key: str, now: float, value: float) -> tuple[float, float] | None:
        """Store ``value``; return the previous (time, value)."""
        last = self.data.get(key)
        self.data[key] = (now, value)
        return last


@dataclass(frozen=True)
class Context:
    item: str
    now: float
    values: ValueStore


@dataclass(frozen=True)
class Outcome:
    state: int
    summary: str
    details: str = ""
    metrics: tuple[Metric, ...] = ()


@dataclass(frozen=True)
class CheckPlugin(Generic[P]):
    name: str
    service_name: str
    """Template with ``{item}``."""
    params: type[P]
    discover: Callable[[Sections], Iterable[str]]
    check: Callable[[Context, P, Sections], Outcome]
    defaults: dict[str, Any] = field(default_factory=dict)

    def service(self, item: str) -> str:
        return self.service_name.format(item=item)

    def parse_params(self, raw: dict[str, Any]) -> P:
        """Typed params from a service's stored params (msgspec validates; defaults fill in)."""
        return msgspec.convert(raw, type=self.params, strict=False)


def worst(*states: int) -> int:
    """The worst of service states (UNKNOWN ranks between WARN and CRIT, as in Checkmk)."""
    order = {OK: 0, WARN: 1, UNKNOWN: 2, CRIT: 3}
    return max(states, key=lambda s: order.get(s, 2), default=OK)


def levels_upper(value: float, levels: tuple[float, float] | None) -> int:
    if levels is None:
        return OK
    warn, crit = levels
    return CRIT if value >= crit else WARN if value >= warn else OK


def levels_lower(value: float, levels: tuple[float, float] | None) -> int:
    if levels is None:
        return OK
    warn, crit = levels
    return CRIT if value < crit else WARN if value < warn else OK


def mark(state: int) -> str:
    return {WARN: " (!)", CRIT: " (!!)", UNKNOWN: " (?)"}.get(state, "")


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n:.0f} B"
        n /= 1024
    return f"{n:.1f} PiB"


def human_duration(seconds: float) -> str:
    seconds = int(seconds)
    d, rem = divmod(seconds, 86400)
    h, rem = divmod(rem, 3600)
    m, s = divmod(rem, 60)
    if d:
        return f"{d} d {h} h"
    if h:
        return f"{h} h {m} min"
    return f"{m} min {s} s" if m else f"{s} s"

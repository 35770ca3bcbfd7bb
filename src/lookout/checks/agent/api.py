"""The agent check-plugin contract: pure ``discover(sections)`` and
``check(ctx, params, sections)``; the clock and the per-host value store come in ``ctx``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import msgspec
from lookout_agent.wire import Sections

from lookout.checks import levels
from lookout.domain.metrics import Metric

P = TypeVar("P")

OK, WARN, CRIT, UNKNOWN = levels.OK, levels.WARN, levels.CRIT, levels.UNKNOWN


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


class Context(msgspec.Struct, frozen=True, gc=False):
    """What a check is told besides its params and sections. Structs, not dataclasses: one
    of each per service per push (a frozen dataclass's ``__init__`` costs ~3x more)."""

    item: str
    now: float
    values: ValueStore


class Outcome(msgspec.Struct, frozen=True):
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


worst = levels.worst
levels_upper = levels.upper
levels_lower = levels.lower


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

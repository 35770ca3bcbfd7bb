"""Values a check remembers between evaluations (the "value store"): since when a condition
holds, counters over a window, transitions, trends. Owned by the data source, passed in; it
is saved with the site's state (``storage/kube.py``) so a restart changes no verdict."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import msgspec


class _Saved(msgspec.Struct, gc=False):
    """What :meth:`Memory.dump` writes (msgpack)."""

    since: dict[str, float] = {}
    samples: dict[str, list[tuple[float, float]]] = {}
    last: dict[str, str] = {}
    changes: dict[str, list[float]] = {}


@dataclass
class Memory:
    since: dict[str, float] = field(default_factory=dict)
    samples: dict[str, deque[tuple[float, float]]] = field(default_factory=dict)
    last: dict[str, str] = field(default_factory=dict)
    changes: dict[str, deque[float]] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    """Keys used since :meth:`sweep` (not saved): what the next sweep keeps."""

    def held_for(
        self, key: str, holds: bool, now: float, start: float | None = None
    ) -> float | None:
        """Seconds ``holds`` has been true at every evaluation up to ``now`` (None: false).
        ``start``: since when the objects say it holds, used when it is first seen (so a
        condition older than the first look is not timed from the first look)."""
        if not holds:
            self.since.pop(key, None)
            return None
        self.seen.add(key)
        first = now if start is None else min(start, now)
        return now - self.since.setdefault(key, first)

    def increase(
        self, key: str, value: float, now: float, window: float, seed: float = 0.0
    ) -> float:
        """How much a counter grew within the last ``window`` seconds (a reset counts the
        new value). ``seed``: how much the objects say it grew within the window before the
        first look (restarts whose times the pod records); used only when the key is new."""
        if seed > 0 and key not in self.samples:
            self.samples[key] = deque([(now - window, max(0.0, value - seed))])
        series = self._series(key, value, now, window, counter=True)
        first = series[0][1]
        return value - first if value >= first else value

    def slope(self, key: str, value: float, now: float, window: float) -> float | None:
        """Least-squares change per second over ``window`` (None with < 2 samples or < 60 s)."""
        series = self._series(key, value, now, window)
        if len(series) < 2 or series[-1][0] - series[0][0] < 60:
            return None
        n = len(series)
        mt = sum(t for t, _ in series) / n
        mv = sum(v for _, v in series) / n
        var = sum((t - mt) ** 2 for t, _ in series)
        if var == 0:
            return None
        return sum((t - mt) * (v - mv) for t, v in series) / var

    def transitions(self, key: str, value: str, now: float, window: float) -> int:
        """How often ``value`` changed within the last ``window`` seconds."""
        self.seen.add(key)
        times = self.changes.setdefault(key, deque())
        before = self.last.get(key)
        if before is not None and before != value:
            times.append(now)
        self.last[key] = value
        while times and times[0] < now - window:
            times.popleft()
        return len(times)

    def _series(
        self, key: str, value: float, now: float, window: float, *, counter: bool = False
    ) -> deque[tuple[float, float]]:
        self.seen.add(key)
        series = self.samples.setdefault(key, deque())
        # a counter needs only its changes (the value at the window start is the last one
        # before it): an unchanged counter stays one sample, which keeps the stored state small
        if not series or (now > series[-1][0] and not (counter and value == series[-1][1])):
            series.append((now, value))
        # keep one sample at or before the window start, so "within the window" is covered
        while len(series) > 2 and series[1][0] <= now - window:
            series.popleft()
        if len(series) > 500:  # bound memory: thin out to every other sample
            thinned = list(series)[::2]
            series.clear()
            series.extend(thinned)
        return series

    def dump(self) -> bytes:
        """Everything remembered, for storing with the site's state."""
        return msgspec.msgpack.encode(
            _Saved(
                self.since,
                {k: list(v) for k, v in self.samples.items()},
                self.last,
                {k: list(v) for k, v in self.changes.items()},
            )
        )

    @classmethod
    def load(cls, data: bytes) -> Memory:
        """What :meth:`dump` wrote; raises ``msgspec.DecodeError`` for anything else."""
        saved = msgspec.msgpack.decode(data, type=_Saved)
        return cls(
            dict(saved.since),
            {k: deque(v) for k, v in saved.samples.items()},
            dict(saved.last),
            {k: deque(v) for k, v in saved.changes.items()},
        )

    def keep(self, key: str) -> None:
        """Keep ``key`` through the next sweep without a new value."""
        self.seen.add(key)

    def sweep(self) -> None:
        """Drop what no check asked about since the last sweep (deleted objects), so what is
        remembered and saved stays the size of the cluster. Called after each evaluation."""
        for table in (self.since, self.samples, self.last, self.changes):
            for k in [k for k in table if k not in self.seen]:
                del table[k]
        self.seen = set()

    def forget(self, prefix: str) -> None:
        """Drop everything remembered about keys starting with ``prefix`` (a deleted object)."""
        for table in (self.since, self.samples, self.last, self.changes):
            for k in [k for k in table if k.startswith(prefix)]:
                del table[k]

"""The last line of defence below the doors: making any snapshot storable.

The doors (:mod:`lookout.domain.values`) refuse what cannot be stored, so this runs only when a
checkpoint write failed anyway (a value from an older version's journal, a bug in a data
source). Then the store writes the snapshot again with every value made storable: NUL and
unpaired surrogates become U+FFFD, non-finite or out-of-range numbers are clamped (NaN → 0),
metrics without a finite value are dropped. Each repair is noted, so the site can say what it
changed instead of refusing input for good.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import msgspec

from lookout.domain.metrics import Metric
from lookout.domain.values import NUMBER_MAX, TIME_MAX, text_problem

REPLACEMENT = "\ufffd"


@dataclass
class Repairs:
    """What was changed to make a snapshot storable: ``notes`` for the log and the event."""

    notes: list[str] = field(default_factory=list)

    def note(self, where: str, what: str) -> None:
        if len(self.notes) < 100:
            self.notes.append(f"{where}: {what}")

    def text(self, value: str, where: str) -> str:
        if text_problem(value) is None:
            return value
        self.note(where, "text made storable")
        cleaned = value.replace("\x00", REPLACEMENT)
        return cleaned.encode("utf-8", "replace").decode("utf-8")

    def number(self, value: float, where: str, limit: float = NUMBER_MAX) -> float:
        if math.isfinite(value) and abs(value) <= limit:
            return value
        self.note(where, f"number {value} replaced")
        if math.isnan(value):
            return 0.0
        return math.copysign(limit, value)

    def time(self, value: float, where: str) -> float:
        if 0.0 <= value <= TIME_MAX:
            return value
        self.note(where, f"time {value} replaced")
        return 0.0 if math.isnan(value) or value < 0 else TIME_MAX

    def tree(self, value: Any, where: str) -> Any:
        """A JSON-like value with every string and number made storable."""
        if isinstance(value, str):
            return self.text(value, where)
        if isinstance(value, float):
            return self.number(value, where)
        if isinstance(value, dict):
            return {self.text(str(k), where): self.tree(v, where) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.tree(v, where) for v in value]
        return value

    def json_text(self, value: str | None, where: str) -> str | None:
        """A JSON column held as text: its content made storable (msgspec writes NaN as null,
        which then no longer decodes as a number)."""
        if value is None:
            return None
        try:
            decoded = msgspec.json.decode(value)
        except msgspec.DecodeError:
            self.note(where, "unreadable JSON dropped")
            return None
        cleaned = self.tree(decoded, where)
        if isinstance(cleaned, list):  # metrics: keep those that still are metrics
            kept = [m for m in cleaned if _is_metric(m)]
            if len(kept) != len(cleaned):
                self.note(where, f"{len(cleaned) - len(kept)} metrics without a value dropped")
            cleaned = kept
        return msgspec.json.encode(cleaned).decode()

    def metrics(self, metrics: tuple[Metric, ...], where: str) -> tuple[Metric, ...]:
        kept = []
        for m in metrics:
            if not math.isfinite(m.value) or abs(m.value) > NUMBER_MAX:
                self.note(where, f"metric {m.name!r} with value {m.value} dropped")
                continue
            bounds = {
                k: self.number(v, where) if v is not None else None
                for k in ("warn", "crit", "min", "max")
                for v in (getattr(m, k),)
            }
            kept.append(
                Metric(
                    name=self.text(m.name, where),
                    value=m.value,
                    unit=self.text(m.unit, where),
                    **bounds,
                )
            )
        return tuple(kept)


def _is_metric(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("value"), int | float)


def row(values: tuple[Any, ...] | dict[str, Any], where: str, repairs: Repairs) -> Any:
    """A row (tuple or dict) with strings and floats made storable; JSON kept as JSON."""
    if isinstance(values, dict):
        return {k: _cell(v, f"{where}.{k}", repairs) for k, v in values.items()}
    return tuple(_cell(v, where, repairs) for v in values)


def _cell(value: Any, where: str, repairs: Repairs) -> Any:
    if isinstance(value, str):
        return repairs.text(value, where)
    if isinstance(value, float):
        return (
            repairs.time(value, where) if _is_time_column(where) else repairs.number(value, where)
        )
    if isinstance(value, dict | list | tuple):
        return repairs.tree(value, where)
    return value


def _is_time_column(where: str) -> bool:
    tail = where.rsplit(".", 1)[-1]
    return tail in {"at", "start", "end", "created_at", "started_at", "expire_at", "set_at"}

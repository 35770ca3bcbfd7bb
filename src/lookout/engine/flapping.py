"""Flap detection as Nagios does it: weighted percent state change over the last 21 results.

The history is a string of state digits (oldest first): compact in memory and stored as is.

Changes between consecutive results count from 0.75 (oldest) to 1.25 (newest); the sum is
scaled to 0–100 %. Flapping starts at or above ``high`` and stops below ``low``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from lookout.engine.status import Status

HISTORY = 21
_PAIRS = HISTORY - 1
_DIGITS = "0123456789"
_WEIGHTS = tuple(0.75 + 0.5 * i / (_PAIRS - 1) for i in range(_PAIRS))


@dataclass(frozen=True, slots=True)
class FlapThresholds:
    """Percent state change thresholds (Nagios defaults for services)."""

    low: float = 5.0
    high: float = 20.0
    enabled: bool = True


def percent_state_change(history: str) -> float:
    """Weighted share of state changes in ``history`` (oldest first), 0–100."""
    offset = _PAIRS - (len(history) - 1)
    total = 0.0
    for i in range(1, len(history)):
        if history[i] != history[i - 1]:
            total += _WEIGHTS[offset + i - 1]
    return total * 100.0 / _PAIRS


def record(st: Status, state: int, limits: FlapThresholds) -> bool | None:
    """Add ``state`` to the history; return True when flapping starts, False when it stops,
    None when nothing changed. Cheap when the recent history holds no change."""
    ch = _DIGITS[state]
    history = st.flap_history
    if history and history[-1] != ch:
        st.flap_changes += 1
    history += ch
    if len(history) > HISTORY:
        if history[0] != history[1]:
            st.flap_changes -= 1
        history = history[1:]
    st.flap_history = history
    if st.flap_changes == 0 and not st.flapping:
        st.percent_state_change = 0.0
        return None
    st.percent_state_change = percent = percent_state_change(history)
    if not limits.enabled:
        return None
    if not st.flapping and percent >= limits.high:
        st.flapping = True
        return True
    if st.flapping and percent < limits.low:
        st.flapping = False
        return False
    return None


def restore(st: Status, encoded: str) -> None:
    """Load a history saved by :func:`encode`."""
    h = st.flap_history = encoded[-HISTORY:]
    if not h or h.count(h[0]) == len(h):
        st.flap_changes = 0
    else:
        st.flap_changes = sum(1 for a, b in itertools.pairwise(h) if a != b)


def encode(st: Status) -> str:
    """The history as stored: one digit per result, oldest first."""
    return st.flap_history

"""Pure state transitions: soft/hard states with attempts, acknowledgement clearing, flapping.

No I/O and no clock: every function gets ``at`` and mutates only the :class:`Status` it is
given, so replaying the same inputs gives the same state. Rules (as Nagios/Icinga operators
expect):

- An OK/UP result resets the attempt to 1 and is hard. A recovery from a hard problem is a hard
  state change; from a soft problem a soft one.
- A first problem is soft with attempt 1 (hard at once when ``max_attempts`` is 1, or for a
  service whose host is not UP). Further problem results count attempts up; reaching
  ``max_attempts`` makes it hard. A hard problem stays hard; WARN→CRIT is a hard change.
- A non-sticky acknowledgement is cleared on any state change, a sticky one only on recovery.
"""

from __future__ import annotations

from typing import NamedTuple

from lookout.domain.handling import Ack
from lookout.engine import flapping
from lookout.engine.flapping import FlapThresholds
from lookout.engine.status import Status


class Change(NamedTuple):
    """What one result did, for the engine to turn into events."""

    old_state: int
    old_hard: bool
    state_changed: bool
    hard_changed: bool
    flapping: bool | None
    ack_cleared: Ack | None
    soft_retry: bool = False
    """Another soft attempt of the same problem (no state change; event handlers run on it,
    as Nagios runs them on every soft attempt)."""


def apply_result(
    st: Status,
    state: int,
    summary: str,
    long_output: str,
    at: float,
    max_attempts: int,
    host_up: bool,
    flap: FlapThresholds,
) -> Change | None:
    """Apply one result at time ``at``; None when neither state nor state type changed and
    flapping did not start or stop (the fast path)."""
    old_state = st.state
    old_hard = st.hard
    first = not st.checked
    st.checked = True
    st.last_check = at
    st.summary = summary
    st.long_output = long_output
    st.stale = False
    if st.service:
        st.host_problem = not host_up
    flap_change = flapping.record(st, state, flap)

    if state == 0:
        st.last_ok = at
        if old_state == 0 and not first:
            st.attempt = 1
            return None if flap_change is None else _change(st, old_state, old_hard, flap_change)
        st.attempt = 1
        st.hard = True
    elif old_state == 0 or first:
        st.attempt = 1
        st.hard = max_attempts <= 1 or (bool(st.service) and not host_up)
    elif old_hard:
        st.attempt = max(max_attempts, 1)
    else:
        st.attempt += 1
        if st.attempt >= max_attempts or (st.service and not host_up):
            st.attempt = min(st.attempt, max(max_attempts, 1))
            st.hard = True

    state_changed = state != old_state or first
    if not state_changed and st.hard == old_hard and flap_change is None:
        if not st.hard:  # a further soft attempt
            return Change(old_state, old_hard, False, False, None, None, soft_retry=True)
        return None
    st.state = state
    if state_changed:
        st.last_state_change = at
    hard_changed = st.hard and (state != st.last_hard_state or (first and state != 0))
    if hard_changed:
        st.last_hard_state = state
        st.last_hard_state_change = at
    return _change(st, old_state, old_hard, flap_change, state_changed, hard_changed)


def _change(
    st: Status,
    old_state: int,
    old_hard: bool,
    flap_change: bool | None,
    state_changed: bool = False,
    hard_changed: bool = False,
) -> Change:
    cleared: Ack | None = None
    ack = st.ack
    if ack is not None and state_changed and (st.state == 0 or not ack.sticky):
        cleared = ack
        st.ack = None
    return Change(old_state, old_hard, state_changed, hard_changed, flap_change, cleared)

"""Converting live statuses to and from their database rows."""

from __future__ import annotations

from typing import Any

import msgspec

from lookout.domain.handling import Ack
from lookout.domain.metrics import Metric
from lookout.engine import flapping
from lookout.engine.status import Status

def status_row(st: Status) -> dict[str, Any]:
    return {
        "host": st.host,
        "service": st.service,
        "state": st.state,
        "hard": st.hard,
        "attempt": st.attempt,
        "last_hard_state": st.last_hard_state,
        "checked": st.checked,
        "last_check": st.last_check,
        "last_result": st.last_result,
        "last_state_change": st.last_state_change,
        "last_hard_state_change": st.last_hard_state_change,
        "last_ok": st.last_ok,
        "summary": st.summary,
        "long_output": st.long_output,
        "flap_history": flapping.encode(st),
        "flapping": st.flapping,
        "percent_state_change": st.percent_state_change,
        "stale": st.stale,
        "host_problem": st.host_problem,
        "ack": msgspec.to_builtins(st.ack) if st.ack is not None else None,
        "metrics": [msgspec.to_builtins(m) for m in st.metrics],
    }


def status_from_row(row: Any) -> Status:
    st = Status(row.host, row.service, row.last_state_change)
    for name in (
        "state",
        "hard",
        "attempt",
        "last_hard_state",
        "checked",
        "last_check",
        "last_result",
        "last_state_change",
        "last_hard_state_change",
        "last_ok",
        "summary",
        "long_output",
        "flapping",
        "percent_state_change",
        "stale",
        "host_problem",
    ):
        setattr(st, name, getattr(row, name))
    flapping.restore(st, row.flap_history)
    st.ack = msgspec.convert(row.ack, Ack) if row.ack else None
    st.metrics = tuple(msgspec.convert(m, Metric) for m in row.metrics)
    return st

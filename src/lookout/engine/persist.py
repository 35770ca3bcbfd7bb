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


_metrics = msgspec.json.Decoder(tuple[Metric, ...])
_ack = msgspec.json.Decoder(Ack)


def _json(value: Any, decoder: msgspec.json.Decoder[Any], typ: Any) -> Any:
    """SQLite hands JSON columns over as text, PostgreSQL (JSONB) as Python objects."""
    if isinstance(value, str | bytes):
        return decoder.decode(value)
    return msgspec.convert(value, typ)


def status_from_row(row: Any) -> Status:
    """A status from a row of ``STATUS_COLUMNS`` (positional: fast for 100,000 rows)."""
    (
        host,
        service,
        state,
        hard,
        attempt,
        last_hard_state,
        checked,
        last_check,
        last_result,
        last_state_change,
        last_hard_state_change,
        last_ok,
        summary,
        long_output,
        flap_history,
        is_flapping,
        percent,
        stale,
        host_problem,
        ack,
        metrics,
    ) = row
    st = Status(host, service, last_state_change)
    st.state = state
    st.hard = bool(hard)
    st.attempt = attempt
    st.last_hard_state = last_hard_state
    st.checked = bool(checked)
    st.last_check = last_check
    st.last_result = last_result
    st.last_hard_state_change = last_hard_state_change
    st.last_ok = last_ok
    st.summary = summary
    st.long_output = long_output
    st.flapping = bool(is_flapping)
    st.percent_state_change = percent
    st.stale = bool(stale)
    st.host_problem = bool(host_problem)
    flapping.restore(st, flap_history)
    if ack is not None and ack != "null":
        st.ack = _json(ack, _ack, Ack)
    if metrics and metrics != "[]":
        st.metrics = _json(metrics, _metrics, tuple[Metric, ...])
    return st

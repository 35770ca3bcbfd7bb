"""JSON shapes of live objects (what GET endpoints answer)."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.responses import Response

from lookout.domain.handling import Comment, Downtime
from lookout.domain.objects import HostConfig, ServiceConfig
from lookout.domain.states import state_name
from lookout.engine.core import Engine, metric_list
from lookout.engine.status import Status

_json = msgspec.json.Encoder()


class JSON(Response):
    """A JSON response encoded with msgspec (fast for 100,000-row lists)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return _json.encode(content)


def status_view(engine: Engine, st: Status) -> dict[str, Any]:
    ack = st.ack
    return {
        "state": st.state,
        "state_name": state_name(st.state, is_host=st.is_host) if st.checked else "PENDING",
        "state_type": st.state_type,
        "attempt": st.attempt,
        "checked": st.checked,
        "summary": st.summary,
        "long_output": st.long_output,
        "last_check": st.last_check or None,
        "last_state_change": st.last_state_change,
        "last_hard_state_change": st.last_hard_state_change,
        "last_hard_state": st.last_hard_state,
        "last_ok": st.last_ok or None,
        "acknowledged": ack is not None,
        "acknowledgement": msgspec.to_builtins(ack) if ack is not None else None,
        "in_downtime": st.downtime_depth > 0,
        "host_in_downtime": bool(st.service) and engine.host_in_downtime(st.host),
        "handled": engine.handled(st),
        "flapping": st.flapping,
        "percent_state_change": round(st.percent_state_change, 2),
        "stale": st.stale,
        "host_problem": st.host_problem,
        "cause": _name(engine.cause(st)) if st.state != 0 else None,
        "affects": engine.affected(st),
        "metrics": metric_list(st.metrics),
    }


def _name(st: Status | None) -> str | None:
    return None if st is None else f"{st.host}/{st.service}"


def host_view(engine: Engine, cfg: HostConfig) -> dict[str, Any]:
    st = engine.status[(cfg.name, "")]
    services = engine.host_services.get(cfg.name, {})
    counts = [0, 0, 0, 0]
    for name in services:
        counts[engine.status[(cfg.name, name)].state] += 1
    return {
        **msgspec.to_builtins(cfg),
        "services": {
            "total": len(services),
            "ok": counts[0],
            "warn": counts[1],
            "crit": counts[2],
            "unknown": counts[3],
        },
        **status_view(engine, st),
    }


def service_view(engine: Engine, cfg: ServiceConfig) -> dict[str, Any]:
    st = engine.status[(cfg.host, cfg.name)]
    return {
        **msgspec.to_builtins(cfg),
        "depends_on": [{"host": h, "service": s} for h, s in cfg.depends_on],
        "passive": cfg.check is None,
        **status_view(engine, st),
    }


def downtime_view(engine: Engine, dt: Downtime) -> dict[str, Any]:
    return {
        **msgspec.to_builtins(dt),
        "service": dt.service or None,
        "active": dt.started_at is not None,
        "ends_at": dt.active_until if dt.started_at is not None else dt.end,
    }


def comment_view(c: Comment) -> dict[str, Any]:
    return {**msgspec.to_builtins(c), "service": c.service or None}

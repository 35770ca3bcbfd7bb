"""Warning events summarised per object: which objects had Warning events within the last
hour, by reason, with how often and the latest message. Context for the services that judge
(a crash loop pages through Pods and Restarts, not here): the service stays OK and says what
the cluster itself complained about."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from lookout.checks.kube.api import OK, Outcome, metric
from lookout.checks.kube.sections import Event

WINDOW = 3600.0
"""Seconds of events a summary covers."""
MAX_NAMED = 5


@dataclass
class _Seen:
    count: int = 0
    last: float = 0.0
    message: str = ""
    reasons: dict[str, int] = field(default_factory=dict)


def recent(events: Iterable[Event], now: float, window: float = WINDOW) -> list[Event]:
    return [e for e in events if e.at() >= now - window]


def summary(events: list[Event]) -> Outcome:
    """One service's summary of ``events`` (already the host's, already recent)."""
    if not events:
        return Outcome(
            OK, "no warning events in the last hour", "", (metric("kube_warning_events", 0, lo=0),)
        )
    by_obj: dict[str, _Seen] = {}
    for e in sorted(events, key=Event.at):
        ref = e.involved_object
        name = f"{ref.kind} {ref.name}" if ref.kind else ref.name
        seen = by_obj.setdefault(name, _Seen())
        n = max(1, e.count)
        seen.count += n
        seen.reasons[e.reason] = seen.reasons.get(e.reason, 0) + n
        seen.last, seen.message = e.at(), e.message
    ranked = sorted(by_obj.items(), key=lambda kv: (-kv[1].count, kv[0]))
    total = sum(s.count for s in by_obj.values())

    def line(name: str, s: _Seen) -> str:
        reasons = ", ".join(f"{r} ×{n}" for r, n in sorted(s.reasons.items(), key=lambda x: -x[1]))
        return f"{name}: {reasons} ({' '.join(s.message.split())[:160]})"

    named = "; ".join(line(n, s) for n, s in ranked[:MAX_NAMED])
    more = f" (+{len(ranked) - MAX_NAMED} more objects)" if len(ranked) > MAX_NAMED else ""
    details = "\n".join(line(n, s) for n, s in ranked)
    return Outcome(
        OK,
        f"{total} in the last hour on {len(ranked)} object(s): {named}{more}",
        details,
        (metric("kube_warning_events", total, lo=0),),
    )

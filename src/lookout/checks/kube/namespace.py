"""Namespace services: resource quota usage, pods per phase, problem pods."""

from __future__ import annotations

from lookout.checks.kube.api import CRIT, OK, WARN, Outcome, mark, metric, percent, upper, worst
from lookout.checks.kube.cluster import pods_per_phase
from lookout.checks.kube.params import KubeParams
from lookout.checks.kube.pods import PodHealth
from lookout.checks.kube.quantity import quantity
from lookout.checks.kube.sections import Pod, ResourceQuota

MAX_NAMED = 10
"""Problem pods named in a summary; the details list them all."""


def quotas(items: list[ResourceQuota], params: KubeParams) -> Outcome:
    """Used vs hard of every resource of every quota (mixin: almost full ≥ 90 %, full 100 %,
    exceeded > 100 %)."""
    if not items:
        return Outcome(OK, "no resource quota")
    state, lines, notes, metrics = OK, [], [], []
    for q in sorted(items, key=lambda q: q.metadata.name):
        hard, used = q.status.hard or {}, q.status.used or {}
        for res in sorted(hard):
            h, u = quantity(hard[res]), quantity(used.get(res))
            pct = percent(u, h) if h > 0 else (100.0 if u == 0 else 200.0)
            s = params.quota_exceeded_state if pct > 100 else upper(pct, params.quota_levels)
            state = worst(state, s)
            what = "exceeded" if pct > 100 else "full" if pct >= 100 else "almost full"
            if s != OK:
                notes.append(f"{q.metadata.name} {res} {what} ({pct:.0f}%)")
            lines.append(
                f"{q.metadata.name} {res}: {used.get(res, 0)} of {hard[res]} ({pct:.1f}%){mark(s)}"
            )
            metrics.append(
                metric(f"quota_{q.metadata.name}_{res}_percent".replace("/", "_"), pct, "%", lo=0)
            )
    summary = ", ".join(notes) if notes else f"{len(lines)} quota resources within limits"
    return Outcome(state, summary, "\n".join(lines), tuple(metrics))


def pods(items: list[Pod]) -> Outcome:
    text, metrics = pods_per_phase(items)
    return Outcome(OK, text, "", metrics)  # type: ignore[arg-type]


def problem_pods(health: list[PodHealth]) -> Outcome:
    """The pods of the namespace that have a problem, named, worst first."""
    bad = sorted((h for h in health if h.problem), key=lambda h: (-_rank(h.state), h.name))
    if not bad:
        return Outcome(
            OK,
            f"{len(health)} pods, none with problems",
            "",
            (metric("kube_problem_pods", 0, lo=0),),
        )
    state = worst(*(h.state for h in bad))
    named = "; ".join(f"{h.name}: {h.problem}" for h in bad[:MAX_NAMED])
    more = f" (+{len(bad) - MAX_NAMED} more)" if len(bad) > MAX_NAMED else ""
    details = "\n".join(h.line() + mark(h.state) for h in bad)
    return Outcome(
        state,
        f"{len(bad)} of {len(health)} pods: {named}{more}",
        details,
        (metric("kube_problem_pods", len(bad), lo=0),),
    )


def _rank(state: int) -> int:
    return {CRIT: 3, 3: 2, WARN: 1}.get(state, 0)

"""HorizontalPodAutoscalers and PodDisruptionBudgets (kubernetes-mixin KubeHpaMaxedOut,
KubeHpaReplicasMismatch, KubePdbNotEnoughHealthyPods), and the cluster's PersistentVolumes
(KubePersistentVolumeErrors).

An autoscaler is shown on the workload it scales, a budget on its namespace. Durations come
from the objects where they say since when (a condition's ``lastTransitionTime``), else from
the value store, so "for long" holds from the first look and across restarts.
"""

from __future__ import annotations

from lookout.checks.kube.api import (
    CRIT,
    OK,
    WARN,
    Outcome,
    human_age,
    human_bytes,
    mark,
    metric,
    seconds_since,
    upper,
    worst,
)
from lookout.checks.kube.memory import Memory
from lookout.checks.kube.params import KubeParams
from lookout.checks.kube.pods import condition
from lookout.checks.kube.quantity import get
from lookout.checks.kube.sections import (
    Condition,
    HorizontalPodAutoscaler,
    PersistentVolume,
    PodDisruptionBudget,
)

METRICS_REASONS = ("FailedGetResourceMetric", "FailedGetPodsMetric", "FailedGetObjectMetric")
"""``ScalingActive=False`` reasons that mean the autoscaler cannot read its metrics."""


def _since(cond: Condition | None) -> float | None:
    t = cond.last_transition_time if cond is not None else None
    return t.timestamp() if t is not None else None


def _held(
    memory: Memory, key: str, holds: bool, now: float, cond: Condition | None = None
) -> float:
    return memory.held_for(key, holds, now, _since(cond)) or 0.0


def hpa(h: HorizontalPodAutoscaler, memory: Memory, now: float, params: KubeParams) -> Outcome:
    """Unable to scale (``AbleToScale=False``), metrics unavailable or scaling inactive
    (``ScalingActive=False``): WARN. At its maximum (and max ≠ min) or desired ≠ current
    between min and max: WARN/CRIT after ``hpa_maxed_levels`` / ``hpa_mismatch_levels``."""
    sp, st = h.spec, h.status
    lo = sp.min_replicas if sp.min_replicas is not None else 1
    hi = sp.max_replicas
    mkey = f"hpa/{h.metadata.namespace}/{h.metadata.name}"
    head = f"{st.current_replicas} replicas (min {lo}, max {hi}), desired {st.desired_replicas}"
    notes: list[tuple[int, str]] = []
    able = condition(st.conditions, "AbleToScale")
    if able is not None and able.status == "False":
        notes.append((WARN, f"unable to scale: {able.reason} {able.message}".rstrip()))
    active = condition(st.conditions, "ScalingActive")
    if active is not None and active.status == "False" and active.reason != "ScalingDisabled":
        what = "metrics unavailable" if active.reason in METRICS_REASONS else "scaling inactive"
        notes.append((WARN, f"{what}: {active.reason} {active.message}".rstrip()))
    limited = condition(st.conditions, "ScalingLimited")
    if limited is None or limited.status != "True" or limited.reason != "TooManyReplicas":
        limited = None  # its transition time says since when the maximum holds only then
    maxed = hi > lo and st.current_replicas >= hi
    held = _held(memory, mkey + "/maxed", maxed, now, limited if maxed else None)
    if maxed:
        s = upper(held, params.hpa_maxed_levels)
        notes.append((s, f"at its maximum of {hi} for {human_age(held)}"))
    between = lo <= st.desired_replicas <= hi
    mismatch = between and st.desired_replicas != st.current_replicas
    off = _held(memory, mkey + "/mismatch", mismatch, now)
    if mismatch:
        s = upper(off, params.hpa_mismatch_levels)
        notes.append((s, f"desired {st.desired_replicas} ≠ current for {human_age(off)}"))
    state = worst(OK, *(s for s, _ in notes))
    summary = head + "".join(f"; {t}{mark(s)}" for s, t in notes)
    metrics = (
        metric("kube_hpa_replicas", st.current_replicas, lo=0, hi=hi),
        metric("kube_hpa_desired_replicas", st.desired_replicas, lo=0, hi=hi),
    )
    return Outcome(state, summary, "", metrics)


def pdb(b: PodDisruptionBudget, memory: Memory, now: float, params: KubeParams) -> Outcome:
    """Fewer healthy pods than the budget wants (mixin KubePdbNotEnoughHealthyPods), or no
    disruption allowed for long (a node drain would block on it)."""
    st = b.status
    mkey = f"pdb/{b.metadata.namespace}/{b.metadata.name}"
    head = (
        f"{st.current_healthy} of {st.expected_pods} pods healthy "
        f"(wants {st.desired_healthy}), {st.disruptions_allowed} disruptions allowed"
    )
    if not st.expected_pods:
        memory.held_for(mkey + "/short", False, now)
        memory.held_for(mkey + "/blocked", False, now)
        return Outcome(OK, f"{head}; selects no pods")
    notes: list[tuple[int, str]] = []
    short = st.current_healthy < st.desired_healthy
    held = _held(memory, mkey + "/short", short, now)
    if short:
        s = upper(held, params.pdb_unhealthy_levels)
        missing = st.desired_healthy - st.current_healthy
        notes.append((s, f"{missing} healthy pod(s) short for {human_age(held)}"))
    blocked = st.disruptions_allowed <= 0
    cond = condition(st.conditions, "DisruptionAllowed")
    if cond is not None and cond.status != "False":
        cond = None
    since = _held(memory, mkey + "/blocked", blocked, now, cond if blocked else None)
    if blocked:
        s = upper(since, params.pdb_blocked_levels)
        notes.append((s, f"no disruption allowed for {human_age(since)} (drains block)"))
    state = worst(OK, *(s for s, _ in notes))
    summary = head + "".join(f"; {t}{mark(s)}" for s, t in notes)
    metrics = (
        metric("kube_pdb_disruptions_allowed", st.disruptions_allowed, lo=0),
        metric("kube_pdb_healthy", st.current_healthy, lo=0),
    )
    return Outcome(state, summary, "", metrics)


PV_STATE = {"Failed": CRIT, "Pending": WARN, "Released": WARN}
"""Phases that need a human: Failed (reclaim failed), Pending (not available for binding),
Released (its claim is gone; with ``Retain`` the data waits for an admin)."""


def persistent_volumes(pvs: list[PersistentVolume], now: float) -> Outcome:
    """Every PersistentVolume of the cluster, problems named (mixin KubePersistentVolumeErrors:
    Failed or Pending)."""
    phases: dict[str, int] = {}
    bad: list[tuple[int, str]] = []
    for pv in sorted(pvs, key=lambda p: p.metadata.name):
        phase = pv.status.phase or "Unknown"
        phases[phase] = phases.get(phase, 0) + 1
        s = PV_STATE.get(phase, OK)
        if s == OK:
            continue
        claim = pv.spec.claim_ref
        text = f"{pv.metadata.name} {phase}"
        age = seconds_since(pv.status.last_phase_transition_time, now)
        if age is not None:
            text += f" for {human_age(age)}"
        if claim is not None and claim.name:
            text += f" (was {claim.namespace}/{claim.name}"
            text += f", reclaim {pv.spec.persistent_volume_reclaim_policy or 'unknown'})"
        if pv.status.message:
            text += f": {pv.status.message[:160]}"
        size = get(pv.spec.capacity, "storage")
        if size:
            text += f" [{human_bytes(size)}]"
        bad.append((s, text))
    counts = ", ".join(f"{n} {ph.lower()}" for ph, n in sorted(phases.items())) or "none"
    metrics = tuple(metric(f"kube_pv_{ph.lower()}", n, lo=0) for ph, n in sorted(phases.items()))
    if not bad:
        return Outcome(OK, f"persistent volumes: {counts}", "", metrics)
    bad.sort(key=lambda x: -x[0])
    state = worst(*(s for s, _ in bad))
    named = "; ".join(t + mark(s) for s, t in bad[:5]) + (" …" if len(bad) > 5 else "")
    details = "\n".join(t + mark(s) for s, t in bad)
    return Outcome(state, f"{named} ({counts})", details, metrics)

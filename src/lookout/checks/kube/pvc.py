"""PersistentVolumeClaim services: phase, used and free space with trend (time until full)."""

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
    percent,
    seconds_since,
    upper,
    worst,
)
from lookout.checks.kube.memory import Memory
from lookout.checks.kube.params import KubeParams
from lookout.checks.kube.quantity import get
from lookout.checks.kube.sections import PersistentVolumeClaim
from lookout.checks.kube.view import VolumeUsage

TREND_WINDOW = 6 * 3600.0
"""Seconds of history the fill trend uses (mixin: predict_linear over 6h)."""


def check(
    pvc: PersistentVolumeClaim,
    usage: VolumeUsage | None,
    memory: Memory,
    now: float,
    params: KubeParams,
) -> Outcome:
    phase = pvc.status.phase or "Unknown"
    size = get(pvc.status.capacity, "storage") or get(
        pvc.spec.resources.requests if pvc.spec.resources else None, "storage"
    )
    if phase == "Lost":
        return Outcome(CRIT, f"Lost (volume {pvc.spec.volume_name or 'unknown'} is gone)")
    if phase != "Bound":
        age = seconds_since(pvc.metadata.creation_timestamp, now)
        state = upper(age, params.pvc_pending_levels) if age is not None else WARN
        return Outcome(state, f"{phase} for {human_age(age)}{mark(state)}")
    head = f"Bound to {pvc.spec.volume_name}, {human_bytes(size)}"
    trend = f"pvc/{pvc.metadata.namespace}/{pvc.metadata.name}"
    if usage is None:
        memory.keep(trend)  # a round without usage data must not lose the trend
        return Outcome(OK, f"{head} (no usage data)")
    pct = percent(usage.used, usage.capacity)
    state = upper(pct, params.pvc_used_levels)
    parts = [
        f"used {human_bytes(usage.used)} of {human_bytes(usage.capacity)} "
        f"({pct:.1f}%){mark(state)}",
        f"{human_bytes(usage.available)} free",
    ]
    metrics = [
        metric("fs_used", usage.used, "B", lo=0, hi=usage.capacity),
        metric("fs_used_percent", pct, "%", params.pvc_used_levels, lo=0, hi=100),
        metric("fs_free", usage.available, "B", lo=0),
    ]
    slope = memory.slope(trend, usage.used, now, TREND_WINDOW)
    if slope is not None and slope > 0:
        until_full = usage.available / slope
        s = WARN if until_full < params.pvc_full_within and pct > 100 - 15 else OK
        state = worst(state, s)
        parts.append(f"full in {human_age(until_full)}{mark(s)}")
        metrics.append(metric("fs_growth", slope * 86400, "B", lo=None))
        metrics.append(metric("fs_time_until_full", until_full, "s", lo=0))
    return Outcome(state, f"{head}, " + ", ".join(parts), "", tuple(metrics))


__all__ = ["OK", "check"]

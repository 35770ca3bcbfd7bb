"""HPAs, PDBs, PVs, CronJob schedules and Warning event summaries on objects written from the
Kubernetes API reference (autoscaling/v2, policy/v1, core/v1, batch/v1)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from lookout.checks.kube import autoscaling, events, workload
from lookout.checks.kube.api import CRIT, OK, WARN
from lookout.checks.kube.memory import Memory
from lookout.checks.kube.params import DEFAULT
from lookout.checks.kube.sections import (
    CronJob,
    Event,
    HorizontalPodAutoscaler,
    PersistentVolume,
    PodDisruptionBudget,
)

NOW = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC).timestamp()


def ago(seconds: float) -> str:
    return dt.datetime.fromtimestamp(NOW - seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def conv(kind: type[Any], data: dict[str, Any]) -> Any:
    return msgspec.convert(data, kind, strict=False)


def test_hpa_desired_differs_from_current_only_after_a_while() -> None:
    h = conv(
        HorizontalPodAutoscaler,
        {
            "metadata": {"name": "api", "namespace": "shop"},
            "spec": {"minReplicas": 2, "maxReplicas": 10},
            "status": {"currentReplicas": 3, "desiredReplicas": 6},
        },
    )
    m = Memory()
    first = autoscaling.hpa(h, m, NOW, DEFAULT)
    assert (first.state, first.summary) == (
        OK,
        "3 replicas (min 2, max 10), desired 6; desired 6 ≠ current for 0s",
    )
    later = autoscaling.hpa(h, m, NOW + 3600, DEFAULT)
    assert (later.state, later.summary) == (
        CRIT,
        "3 replicas (min 2, max 10), desired 6; desired 6 ≠ current for 1h 0m (!!)",
    )


def test_hpa_with_min_equal_max_is_never_maxed_out() -> None:
    h = conv(
        HorizontalPodAutoscaler,
        {"spec": {"minReplicas": 4, "maxReplicas": 4}, "status": {"currentReplicas": 4,
                                                                   "desiredReplicas": 4}},
    )  # fmt: skip
    out = autoscaling.hpa(h, Memory(), NOW, DEFAULT)
    assert (out.state, out.summary) == (OK, "4 replicas (min 4, max 4), desired 4")


def test_pdb_short_of_healthy_pods_and_one_that_selects_nothing() -> None:
    short = conv(
        PodDisruptionBudget,
        {
            "metadata": {"name": "db", "namespace": "shop"},
            "status": {
                "disruptionsAllowed": 1,
                "currentHealthy": 1,
                "desiredHealthy": 2,
                "expectedPods": 3,
            },
        },
    )
    m = Memory()
    autoscaling.pdb(short, m, NOW, DEFAULT)
    out = autoscaling.pdb(short, m, NOW + 1000, DEFAULT)
    assert (out.state, out.summary) == (
        WARN,
        "1 of 3 pods healthy (wants 2), 1 disruptions allowed; 1 healthy pod(s) short for 16m (!)",
    )
    empty = conv(PodDisruptionBudget, {"status": {"disruptionsAllowed": 0}})
    out = autoscaling.pdb(empty, m, NOW, DEFAULT)
    assert (out.state, out.summary) == (
        OK,
        "0 of 0 pods healthy (wants 0), 0 disruptions allowed; selects no pods",
    )


def test_no_persistent_volumes() -> None:
    out = autoscaling.persistent_volumes([], NOW)
    assert (out.state, out.summary) == (OK, "persistent volumes: none")
    bound = conv(PersistentVolume, {"metadata": {"name": "pv-1"}, "status": {"phase": "Bound"}})
    out = autoscaling.persistent_volumes([bound], NOW)
    assert (out.state, out.summary) == (OK, "persistent volumes: 1 bound")


def _cron(schedule: str, last: float, **spec: Any) -> CronJob:
    return conv(
        CronJob,
        {
            "metadata": {"name": "report", "creationTimestamp": ago(9e6)},
            "spec": {"schedule": schedule, **spec},
            "status": {"lastScheduleTime": ago(last)},
        },
    )


def test_cronjob_schedules() -> None:
    on_time = workload.cronjob(_cron("0 * * * *", 1800), [], NOW, DEFAULT)
    assert (on_time.state, on_time.summary) == (OK, "no successful run yet")
    assert "Next run due: 2026-12-04T12:00+00:00" in on_time.details
    late = workload.cronjob(
        _cron("0 3 * * *", 86400 + 9 * 3600, timeZone="Europe/Berlin"), [], NOW, DEFAULT
    )
    assert (late.state, late.summary) == (CRIT, "missed its schedule: due 10h 0m ago (!!)")
    assert "Next run due: 2026-12-04T03:00+01:00" in late.details
    odd = workload.cronjob(_cron("every day", 60), [], NOW, DEFAULT)
    assert (odd.state, odd.summary) == (WARN, "schedule 'every day' not understood")


def _event(kind: str, name: str, reason: str, count: int, at: float, message: str) -> Event:
    return conv(
        Event,
        {
            "metadata": {"namespace": "shop"},
            "involvedObject": {"kind": kind, "name": name, "namespace": "shop"},
            "type": "Warning",
            "reason": reason,
            "count": count,
            "lastTimestamp": ago(at),
            "message": message,
        },
    )


def test_warning_events_summarised_per_object() -> None:
    items = [
        _event("Pod", "web-1", "BackOff", 12, 60, "Back-off restarting failed container"),
        _event("Pod", "web-1", "Unhealthy", 3, 30, "Readiness probe failed: 503"),
        _event("ReplicaSet", "web-5d9f", "FailedCreate", 1, 120, 'pods "web-5d9f-" is forbidden'),
        _event("Pod", "old", "BackOff", 5, 7200, "too old to count"),
    ]
    out = events.summary(events.recent(items, NOW))
    assert (out.state, out.summary) == (
        OK,
        "16 in the last hour on 2 object(s): Pod web-1: BackOff ×12, Unhealthy ×3 "
        "(Readiness probe failed: 503); ReplicaSet web-5d9f: FailedCreate ×1 "
        '(pods "web-5d9f-" is forbidden)',
    )

"""Thresholds of the Kubernetes checks, with defaults in the spirit of kubernetes-mixin.

The mixin's ``for:`` durations become either a duration threshold inside the check (when the
object tells us since when something holds: a pod pending since, a job running since) or the
service's soft attempts (``max_check_attempts`` × the evaluation interval). Every field can be
overridden per cluster and per rule matching host labels (see ``resolve``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

Levels = tuple[float, float] | None


class KubeParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    # pods (named on their workload and namespace)
    pending_levels: Levels = (900.0, 3600.0)
    """Seconds a pod may be Pending / not ready before WARN, CRIT (mixin: 15m)."""
    restarts_levels: Levels = (3.0, 10.0)
    """Container restarts in the last hour (per workload) for WARN, CRIT."""
    oom_window: float = 3600.0
    """Seconds an OOMKilled termination stays visible (WARN)."""
    # workloads
    replicas_levels: Levels = (300.0, 900.0)
    """Seconds replicas may be below desired before WARN, CRIT (Checkmk: 300/600 s)."""
    rollout_levels: Levels = (900.0, 3600.0)
    """Seconds a rollout may be in progress before WARN, CRIT (mixin: 15m). A Deployment past
    its progress deadline is CRIT at once."""
    job_running_levels: Levels = (43200.0, 86400.0)
    """Seconds a job may run before WARN, CRIT (mixin kubeJobTimeoutDuration: 12h)."""
    job_deadline_state: int = 2
    """State of a job running past its ``activeDeadlineSeconds``."""
    cronjob_missed_levels: Levels = (600.0, 3600.0)
    """Seconds a CronJob may be overdue on its schedule before WARN, CRIT."""
    cronjob_success_age: Levels = None
    """Seconds since the last successful run for WARN, CRIT (None: not checked)."""
    cpu_request_levels: Levels = None
    """CPU usage in % of requests (None: shown, no levels)."""
    cpu_limit_levels: Levels = (95.0, 10_000.0)
    """CPU usage in % of limits for WARN, CRIT. At its limit a container is throttled, not
    killed (mixin CPUThrottlingHigh is only info): WARN, no CRIT by default."""
    memory_request_levels: Levels = None
    memory_limit_levels: Levels = (90.0, 95.0)
    """Memory working set in % of limits for WARN, CRIT (the OOM killer acts at 100 %)."""
    # nodes
    node_cpu_levels: Levels = (90.0, 95.0)
    """Node CPU usage in % of allocatable."""
    node_memory_levels: Levels = (90.0, 95.0)
    node_fs_levels: Levels = (80.0, 90.0)
    """Node filesystem used in % of capacity (df defaults)."""
    node_pods_levels: Levels = (95.0, 100.0)
    """Pods in % of the pod capacity (mixin KubeletTooManyPods: 95 %)."""
    node_cordoned_warn: float | None = 86400.0
    """Seconds a node may stay cordoned (``spec.unschedulable``) before WARN (None: never)."""
    node_flap_changes: int = 2
    """Ready transitions in 15 minutes above which the node is flapping (mixin: >2)."""
    # autoscalers and disruption budgets (mixin KubeHpaMaxedOut, KubeHpaReplicasMismatch,
    # KubePdbNotEnoughHealthyPods: 15m)
    hpa_maxed_levels: Levels = (900.0, 86400.0)
    """Seconds an autoscaler may sit at its maximum before WARN, CRIT."""
    hpa_mismatch_levels: Levels = (900.0, 3600.0)
    """Seconds desired may differ from current replicas (between min and max)."""
    pdb_blocked_levels: Levels = (3600.0, 86400.0)
    """Seconds a budget may allow no disruption (node drains block) before WARN, CRIT."""
    pdb_unhealthy_levels: Levels = (900.0, 3600.0)
    """Seconds a budget may have fewer healthy pods than it wants."""
    # certificates
    cert_days_levels: Levels = (30.0, 7.0)
    """Days left on the API server's (and kubelets') serving certificate for WARN, CRIT."""
    # cluster
    overcommit_cpu: bool = True
    overcommit_memory: bool = True
    # namespace quotas (mixin: almost full 90 %, full 100 %, exceeded >100 %)
    quota_levels: Levels = (90.0, 100.0)
    quota_exceeded_state: int = 2
    # PVCs (mixin: <15 % free and filling up → WARN, <3 % free → CRIT)
    pvc_used_levels: Levels = (85.0, 97.0)
    pvc_full_within: float = 4 * 86400.0
    """WARN when the trend says the volume is full within this many seconds."""
    pvc_pending_levels: Levels = (300.0, 600.0)


DEFAULT = KubeParams()


def resolve(
    base: Mapping[str, Any],
    rules: Sequence[Mapping[str, Any]],
    labels: Mapping[str, str],
) -> KubeParams:
    """``base`` overrides the defaults; then every rule whose ``match`` labels all equal the
    host's labels overrides with its ``params`` (later rules win)."""
    merged: dict[str, Any] = dict(base)
    for rule in rules:
        match: Mapping[str, str] = rule.get("match", {})
        if all(labels.get(k) == v for k, v in match.items()):
            merged.update(rule.get("params", {}))
    if not merged:
        return DEFAULT
    return msgspec.convert(merged, KubeParams)


def validate(base: Mapping[str, Any], rules: Sequence[Mapping[str, Any]]) -> None:
    """Raise ``msgspec.ValidationError`` (with the field path) for bad overrides."""
    msgspec.convert(dict(base), KubeParams)
    for i, rule in enumerate(rules):
        extra = set(rule) - {"match", "params"}
        if extra:
            raise msgspec.ValidationError(f"rules[{i}]: unknown keys {sorted(extra)}")
        try:
            msgspec.convert(rule.get("match", {}), dict[str, str])
            msgspec.convert(rule.get("params", {}), KubeParams)
        except msgspec.ValidationError as exc:
            raise msgspec.ValidationError(f"rules[{i}]: {exc}") from exc

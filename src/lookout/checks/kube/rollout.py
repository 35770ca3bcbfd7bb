"""The Rollout service of Deployments, StatefulSets and DaemonSets, judged as
``kubectl rollout status`` judges it and as kubernetes-mixin alerts on it
(KubeDeploymentRolloutStuck, KubeStatefulSetUpdateNotRolledOut, KubeDaemonSetRolloutStuck).

A rollout is in progress while the controller has not observed the newest generation, or not
every replica runs the new template, or old replicas still run next to the new ones. In
progress is fine for a while: WARN after ``rollout_levels[0]`` seconds, CRIT after
``rollout_levels[1]``, and a Deployment is CRIT at once when it exceeded its progress deadline
(``Progressing=False``, ``ProgressDeadlineExceeded``, or no progress for longer than
``spec.progressDeadlineSeconds``). The summary names the new ReplicaSet (or revision) and the
pods of it that are not ready, so the page says what to look at.
"""

from __future__ import annotations

from collections.abc import Sequence

from lookout.checks.kube.api import (
    CRIT,
    OK,
    WARN,
    Outcome,
    human_age,
    mark,
    metric,
    seconds_since,
    upper,
    worst,
)
from lookout.checks.kube.memory import Memory
from lookout.checks.kube.namespace import MAX_NAMED
from lookout.checks.kube.params import KubeParams
from lookout.checks.kube.pods import PodHealth, condition
from lookout.checks.kube.sections import DaemonSet, Deployment, Pod, ReplicaSet, StatefulSet

REVISION = "deployment.kubernetes.io/revision"
DEADLINE_REASON = "ProgressDeadlineExceeded"
COMPLETE_REASON = "NewReplicaSetAvailable"
REVISION_LABEL = "controller-revision-hash"


def _revision(rs: ReplicaSet | Deployment) -> int:
    raw = (rs.metadata.annotations or {}).get(REVISION, "")
    return int(raw) if raw.isdigit() else 0


def new_replicaset(d: Deployment, replicasets: Sequence[ReplicaSet]) -> ReplicaSet | None:
    """The Deployment's newest ReplicaSet: the one carrying the Deployment's revision, else the
    highest revision, else the youngest."""
    if not replicasets:
        return None
    wanted = _revision(d)
    if wanted:
        for rs in replicasets:
            if _revision(rs) == wanted:
                return rs
    return max(
        replicasets,
        key=lambda rs: (
            _revision(rs),
            rs.metadata.creation_timestamp.timestamp() if rs.metadata.creation_timestamp else 0.0,
        ),
    )


def _unready(pods: Sequence[tuple[Pod, PodHealth]]) -> list[str]:
    """``name (problem)`` of the pods that are not ready, worst first."""
    out: list[tuple[int, str]] = []
    for pod, h in pods:
        ready = condition(pod.status.conditions, "Ready")
        if h.phase == "Succeeded" or (ready is not None and ready.status == "True"):
            continue
        out.append((-h.state, f"{h.name} ({h.problem or 'not ready'})"))
    return [text for _, text in sorted(out)]


def _named(items: list[str]) -> str:
    more = f" (+{len(items) - MAX_NAMED} more)" if len(items) > MAX_NAMED else ""
    return ", ".join(items[:MAX_NAMED]) + more


def _verdict(
    pending: list[str],
    head: str,
    unready: list[str],
    held: float,
    params: KubeParams,
    deadline: str = "",
) -> Outcome:
    state = CRIT if deadline else upper(held, params.rollout_levels)
    summary = f"{head} in progress for {human_age(held)}{mark(state)}: " + "; ".join(pending)
    if deadline:
        summary = f"{head} stuck: {deadline}{mark(CRIT)}; " + "; ".join(pending)
    if unready:
        summary += f"; not ready: {_named(unready)}"
    details = "\n".join(["Waiting for: " + "; ".join(pending), *unready])
    return Outcome(state, summary, details, (metric("kube_rollout_seconds", held, "s", lo=0),))


def deployment(
    d: Deployment,
    replicasets: Sequence[ReplicaSet],
    pods: Sequence[tuple[Pod, PodHealth]],
    mkey: str,
    memory: Memory,
    now: float,
    params: KubeParams,
) -> Outcome:
    meta, st = d.metadata, d.status
    desired = d.spec.replicas if d.spec.replicas is not None else 1
    new = new_replicaset(d, replicasets)
    name = new.metadata.name if new is not None else ""
    revision = _revision(d) or (_revision(new) if new is not None else 0)
    head = f"rollout of {name}" if name else f"rollout of generation {meta.generation}"
    if revision:
        head += f" (revision {revision})"
    pending: list[str] = []
    observed = not meta.generation or st.observed_generation >= meta.generation
    if not observed:
        pending.append(
            f"generation {meta.generation} not observed yet (observed {st.observed_generation})"
        )
    if st.updated_replicas < desired:
        pending.append(f"{st.updated_replicas} of {desired} new replicas updated")
    # old pods: counted on the old ReplicaSets when they are known (the Deployment's own
    # count also holds pods of the new one that are being replaced), else as kubectl does
    old = (
        sum(rs.status.replicas for rs in replicasets if rs is not new)
        if new is not None
        else st.replicas - st.updated_replicas
    )
    if old > 0:
        pending.append(f"{old} old replica{'s' if old != 1 else ''} still running")
    if not pending:
        memory.held_for(mkey + "/rollout", False, now)
        done = f"revision {revision} " if revision else f"generation {meta.generation} "
        where = f" ({name}, {st.available_replicas}/{desired} available)" if name else ""
        return Outcome(OK, done + "rolled out" + where)
    if d.spec.paused:
        return Outcome(OK, f"{head} paused: " + "; ".join(pending))
    new_pods = [(p, h) for p, h in pods if _owner(p) == name] if name else list(pods)
    if new is not None:
        pending.append(f"{new.status.ready_replicas} of {new.spec.replicas or 0} new pods ready")
    prog = condition(st.conditions, "Progressing")
    # the new ReplicaSet's birth starts the clock (none yet while the generation is unseen)
    start = new.metadata.creation_timestamp if new is not None and observed else None
    held = memory.held_for(
        mkey + "/rollout", True, now, start.timestamp() if start is not None else None
    )
    deadline = ""
    if not observed:  # the status describes the previous generation
        prog = None
    if prog is not None and prog.status == "False" and prog.reason == DEADLINE_REASON:
        deadline = "progress deadline exceeded"
    # the controller's own deadline clock (lastUpdateTime: the last progress), unless it
    # considers the new ReplicaSet complete (then it never times out, and neither do we)
    stalled = (
        seconds_since(prog.last_update_time, now)
        if prog is not None and prog.status == "True" and prog.reason != COMPLETE_REASON
        else None
    )
    limit = d.spec.progress_deadline_seconds
    if not deadline and limit is not None and stalled is not None and stalled > limit:
        deadline = f"no progress for {human_age(stalled)} (deadline {human_age(limit)})"
    return _verdict(pending, head, _unready(new_pods), held or 0.0, params, deadline)


def _owner(pod: Pod) -> str:
    ref = pod.metadata.controller()
    return ref.name if ref is not None else ""


def statefulset(
    s: StatefulSet,
    pods: Sequence[tuple[Pod, PodHealth]],
    mkey: str,
    memory: Memory,
    now: float,
    params: KubeParams,
) -> Outcome:
    """``updateRevision`` vs ``currentRevision`` (with a partition, only the replicas above
    it); an ``OnDelete`` update waits for pods to be deleted, which is not a stuck rollout."""
    meta, st = s.metadata, s.status
    desired = s.spec.replicas if s.spec.replicas is not None else 1
    strategy = s.spec.update_strategy
    partition = (
        strategy.rolling_update.partition or 0
        if strategy is not None and strategy.rolling_update is not None
        else 0
    )
    target = max(0, desired - partition)
    pending: list[str] = []
    if meta.generation and st.observed_generation < meta.generation:
        pending.append(
            f"generation {meta.generation} not observed yet (observed {st.observed_generation})"
        )
    updating = bool(st.update_revision) and st.current_revision != st.update_revision
    if updating and st.updated_replicas < target:
        pending.append(f"{st.updated_replicas} of {target} replicas updated")
    head = f"update {st.update_revision}" if st.update_revision else f"generation {meta.generation}"
    if not pending:
        memory.held_for(mkey + "/rollout", False, now)
        return Outcome(OK, f"revision {st.update_revision or meta.generation} rolled out")
    if strategy is not None and strategy.type == "OnDelete":
        memory.held_for(mkey + "/rollout", False, now)
        return Outcome(OK, f"{head} waits for pods to be deleted (OnDelete): " + pending[-1])
    new_pods = [
        (p, h)
        for p, h in pods
        if (p.metadata.labels or {}).get(REVISION_LABEL) == st.update_revision
    ]
    held = memory.held_for(mkey + "/rollout", True, now) or 0.0
    return _verdict(pending, head, _unready(new_pods or list(pods)), held, params)


def daemonset(
    ds: DaemonSet,
    pods: Sequence[tuple[Pod, PodHealth]],
    mkey: str,
    memory: Memory,
    now: float,
    params: KubeParams,
) -> Outcome:
    """Updated and available vs desired (mixin KubeDaemonSetRolloutStuck), misscheduled and
    not scheduled pods (KubeDaemonSetMisScheduled / NotScheduled)."""
    meta, st = ds.metadata, ds.status
    notes: list[tuple[int, str]] = []
    if st.number_misscheduled:
        notes.append((WARN, f"{st.number_misscheduled} misscheduled"))
    if st.desired_number_scheduled > st.current_number_scheduled:
        missing = st.desired_number_scheduled - st.current_number_scheduled
        notes.append((WARN, f"{missing} not scheduled"))
    pending: list[str] = []
    if meta.generation and st.observed_generation < meta.generation:
        pending.append(
            f"generation {meta.generation} not observed yet (observed {st.observed_generation})"
        )
    desired = st.desired_number_scheduled
    if st.updated_number_scheduled < desired:
        pending.append(f"{st.updated_number_scheduled} of {desired} nodes updated")
    on_delete = ds.spec.update_strategy is not None and ds.spec.update_strategy.type == "OnDelete"
    if not pending or on_delete:
        memory.held_for(mkey + "/rollout", False, now)
        text = f"generation {meta.generation} rolled out"
        if pending:
            text = "update waits for pods to be deleted (OnDelete): " + pending[-1]
        if notes:
            state = worst(*(s for s, _ in notes))
            return Outcome(state, "; ".join(t + mark(s) for s, t in notes) + f"; {text}")
        return Outcome(OK, text)
    held = memory.held_for(mkey + "/rollout", True, now) or 0.0
    out = _verdict(
        pending, f"rollout of generation {meta.generation}", _unready(pods), held, params
    )
    if not notes:
        return out
    state = worst(out.state, *(s for s, _ in notes))
    extra = "; ".join(t + mark(s) for s, t in notes)
    return Outcome(state, f"{extra}; {out.summary}", out.details, out.metrics)

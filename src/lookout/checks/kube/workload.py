"""Workload services (Deployment, StatefulSet, DaemonSet, CronJob, Job): replicas, rollout,
pods (problems named), restarts, CPU/memory vs requests and limits, job and cronjob status."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from croniter import croniter

from lookout.checks.kube.api import (
    CRIT,
    OK,
    UNKNOWN,
    WARN,
    Outcome,
    cores,
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
from lookout.checks.kube.namespace import MAX_NAMED
from lookout.checks.kube.params import KubeParams
from lookout.checks.kube.pods import RESTART_WINDOW, PodHealth, condition
from lookout.checks.kube.requests import Totals
from lookout.checks.kube.sections import CronJob, DaemonSet, Deployment, Job, Pod, StatefulSet

HOUR = RESTART_WINDOW


def replicas(
    obj: Deployment | StatefulSet | DaemonSet,
    mkey: str,
    memory: Memory,
    now: float,
    params: KubeParams,
) -> Outcome:
    """Ready / available / updated vs desired; a shortfall becomes WARN/CRIT only after it
    has lasted ``replicas_levels`` seconds (rollouts take time)."""
    if isinstance(obj, DaemonSet):
        st = obj.status
        desired, ready, available, updated = (
            st.desired_number_scheduled,
            st.number_ready,
            st.number_available,
            st.updated_number_scheduled,
        )
    else:
        desired = obj.spec.replicas if obj.spec.replicas is not None else 1
        ready, available, updated = (
            obj.status.ready_replicas,
            obj.status.available_replicas,
            obj.status.updated_replicas,
        )
    short = ready < desired or available < desired or updated < desired
    held = memory.held_for(mkey + "/replicas", short, now)
    state = upper(held, params.replicas_levels) if held is not None else OK
    summary = f"{ready}/{desired} ready, {available} available, {updated} up to date"
    if held is not None:
        summary += f", short for {human_age(held)}{mark(state)}"
    metrics = (
        metric("kube_replicas_desired", desired, lo=0),
        metric("kube_replicas_ready", ready, lo=0),
        metric("kube_replicas_available", available, lo=0),
        metric("kube_replicas_updated", updated, lo=0),
    )
    return Outcome(state, summary, "", metrics)


def pods(kind: str, items: list[Pod], health: list[PodHealth]) -> Outcome:
    """Pods of the workload; problem pods named (OOMKilled, CrashLoopBackOff, ImagePullBackOff,
    Unschedulable, Pending too long …)."""
    bad = [h for h in health if h.problem]
    phases: dict[str, int] = {}
    for p in items:
        phases[p.status.phase or "Unknown"] = phases.get(p.status.phase or "Unknown", 0) + 1
    phase_text = ", ".join(f"{n} {ph.lower()}" for ph, n in sorted(phases.items())) or "no pods"
    metrics = (metric("kube_pods", len(items), lo=0), metric("kube_problem_pods", len(bad), lo=0))
    if not bad:
        return Outcome(OK, phase_text, "", metrics)
    bad.sort(key=lambda h: (h.state != CRIT, h.name))
    state = worst(*(h.state for h in bad))
    named = "; ".join(f"{h.name}: {h.problem}" for h in bad[:MAX_NAMED])
    more = f" (+{len(bad) - MAX_NAMED} more)" if len(bad) > MAX_NAMED else ""
    details = "\n".join(f"{h.name}: {h.problem}{mark(h.state)}" for h in bad)
    return Outcome(state, f"{named}{more}", f"{phase_text}\n{details}", metrics)


def restarts(
    items: list[Pod],
    health: list[PodHealth],
    mkey: str,
    memory: Memory,
    now: float,
    params: KubeParams,
) -> Outcome:
    total = sum(h.restarts for h in health)
    seed = sum(h.recent_restarts for h in health)
    recent = memory.increase(mkey + "/restarts", total, now, HOUR, seed)
    state = upper(recent, params.restarts_levels)
    oom = [h.name for h in health if h.oom_killed]
    summary = f"{recent:.0f} in the last hour{mark(state)}, {total} in total"
    if oom:
        state = worst(state, WARN)
        summary += f"; OOMKilled: {', '.join(oom[:MAX_NAMED])}{mark(WARN)}"
    metrics = (
        metric("kube_restarts_last_hour", recent, "", params.restarts_levels, lo=0),
        metric("kube_restarts_total", total, lo=0),
    )
    return Outcome(state, summary, "", metrics)


def resource(resource_name: str, t: Totals, have_usage: bool, params: KubeParams) -> Outcome:
    """CPU (cores) or memory (working set) of the running pods vs their requests and limits."""
    cpu = resource_name == "cpu"
    requests = t.cpu_requests if cpu else t.memory_requests
    limits = t.cpu_limits if cpu else t.memory_limits
    used = t.cpu_used if cpu else t.memory_used
    fmt = cores if cpu else human_bytes
    unit = "" if cpu else "B"
    name = "kube_cpu" if cpu else "kube_memory"
    lim_text = fmt(limits) if limits is not None else "unlimited"
    details = f"Requests: {fmt(requests)}\nLimits: {lim_text}\nRunning pods: {t.pods}"
    metrics = [metric(f"{name}_requests", requests, unit, lo=0)]
    if limits is not None:
        metrics.append(metric(f"{name}_limits", limits, unit, lo=0))
    if not have_usage or (t.pods and used is None):
        return Outcome(
            OK,
            f"requests {fmt(requests)}, limits {lim_text} (no usage data)",
            details,
            tuple(metrics),
        )
    used = used or 0.0
    metrics.insert(0, metric(name, used, unit, lo=0))
    state = OK
    parts = [f"usage {fmt(used)}"]
    req_levels = params.cpu_request_levels if cpu else params.memory_request_levels
    lim_levels = params.cpu_limit_levels if cpu else params.memory_limit_levels
    if requests > 0:
        pct = percent(used, requests)
        s = upper(pct, req_levels)
        state = worst(state, s)
        parts.append(f"{pct:.1f}% of requests{mark(s)}")
        metrics.append(metric(f"{name}_request_util", pct, "%", req_levels, lo=0))
    if limits:
        pct = percent(used, limits)
        s = upper(pct, lim_levels)
        state = worst(state, s)
        parts.append(f"{pct:.1f}% of limits{mark(s)}")
        metrics.append(metric(f"{name}_limit_util", pct, "%", lim_levels, lo=0))
    return Outcome(state, ", ".join(parts), details, tuple(metrics))


def job(obj: Job, now: float, params: KubeParams) -> Outcome:
    """Job failed (condition Failed, mixin KubeJobFailed) or running too long."""
    st = obj.status
    failed = condition(st.conditions, "Failed")
    complete = condition(st.conditions, "Complete")
    counts = f"{st.active} active, {st.succeeded} succeeded, {st.failed} failed"
    if failed is not None and failed.status == "True":
        return Outcome(CRIT, f"failed: {failed.reason} {failed.message}".rstrip() + f" ({counts})")
    if complete is not None and complete.status == "True":
        took = (
            (st.completion_time.timestamp() - st.start_time.timestamp())
            if st.completion_time and st.start_time
            else None
        )
        return Outcome(
            OK, f"complete ({counts})" + (f", took {human_age(took)}" if took is not None else "")
        )
    if st.active:
        age = seconds_since(st.start_time, now)
        state = upper(age, params.job_running_levels) if age is not None else OK
        limit = obj.spec.active_deadline_seconds
        if limit is not None and age is not None and age > limit:
            state = worst(state, params.job_deadline_state)
            return Outcome(
                state,
                f"running for {human_age(age)}, past its deadline of {human_age(limit)}"
                f"{mark(state)} ({counts})",
            )
        return Outcome(state, f"running for {human_age(age)}{mark(state)} ({counts})")
    return Outcome(OK, counts)


def cronjob(obj: CronJob, jobs: list[Job], now: float, params: KubeParams) -> Outcome:
    """Last job failed (CRIT), suspended (WARN), last success age, job running too long."""
    st = obj.status
    lines = [f"Schedule: {obj.spec.schedule}"]
    state = OK
    notes = []
    latest = max(
        jobs,
        key=lambda j: j.status.start_time.timestamp() if j.status.start_time else 0.0,
        default=None,
    )
    if latest is not None:
        verdict = job(latest, now, params)
        lines.append(f"Latest job {latest.metadata.name}: {verdict.summary}")
        if verdict.state != OK:
            state = worst(state, verdict.state)
            notes.append(f"latest job {latest.metadata.name} {verdict.summary}")
    if obj.spec.suspend:
        state = worst(state, WARN)
        notes.append("suspended")
    elif not st.active:
        due, overdue = missed(obj, now)
        if due:
            lines.append(f"Next run due: {due}")
        if overdue is not None and overdue > 0:
            s = upper(overdue, params.cronjob_missed_levels)
            if s:
                state = worst(state, s)
                notes.append(f"missed its schedule: due {human_age(overdue)} ago{mark(s)}")
        elif overdue is None and due == "":
            state = worst(state, WARN)
            notes.append(f"schedule {obj.spec.schedule!r} not understood")
    success_age = seconds_since(st.last_successful_time, now)
    if success_age is not None:
        s = upper(success_age, params.cronjob_success_age)
        state = worst(state, s)
        lines.append(f"Last success: {human_age(success_age)} ago{mark(s)}")
        if s:
            notes.append(f"last success {human_age(success_age)} ago")
    schedule_age = seconds_since(st.last_schedule_time, now)
    if schedule_age is not None:
        lines.append(f"Last scheduled: {human_age(schedule_age)} ago")
    summary = (
        "; ".join(notes)
        if notes
        else (
            f"last success {human_age(success_age)} ago"
            if success_age is not None
            else "no successful run yet"
        )
    )
    metrics = (
        (metric("kube_cronjob_last_success_age", success_age, "s", lo=0),)
        if success_age is not None
        else ()
    )
    return Outcome(state, summary, "\n".join(lines), metrics)


def missed(obj: CronJob, now: float) -> tuple[str, float | None]:
    """(when the next run after the last scheduled one is due, seconds it is overdue — negative
    while not due yet); ('', None) for a schedule croniter does not understand. The clock is
    the CronJob's ``timeZone`` (UTC when unset, as most control planes run)."""
    base = obj.status.last_schedule_time or obj.metadata.creation_timestamp
    if base is None:
        return "-", None
    try:
        zone = ZoneInfo(obj.spec.time_zone or "UTC")
        due = croniter(obj.spec.schedule, base.astimezone(zone)).get_next(datetime)
    except (ValueError, KeyError, TypeError):  # croniter's errors are ValueErrors
        return "", None
    return due.isoformat(timespec="minutes"), now - due.timestamp()


__all__ = ["UNKNOWN", "cronjob", "job", "pods", "replicas", "resource", "restarts"]

"""What is wrong with a pod, if anything: the status a human would name (CrashLoopBackOff,
ImagePullBackOff, OOMKilled, Unschedulable, FailedMount, not ready …) with its state.

Pods are not hosts by default; these findings are named on the pod's workload and namespace.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from lookout.checks.kube.api import CRIT, OK, WARN, human_age, seconds_since, upper
from lookout.checks.kube.params import KubeParams
from lookout.checks.kube.sections import Condition, ContainerStatus, Event, Pod

BROKEN_WAITING = frozenset(
    {
        "CrashLoopBackOff",
        "ImagePullBackOff",
        "ErrImagePull",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
        "ErrImageNeverPull",
    }
)
"""Waiting reasons that do not fix themselves: CRIT at once (soft attempts still apply)."""
KNOWN_PHASES = frozenset({"Pending", "Running", "Succeeded", "Failed", "Unknown"})
RESTART_WINDOW = 3600.0
"""Seconds over which restarts are counted (the Restarts service: "in the last hour")."""


class PodHealth(msgspec.Struct, frozen=True, gc=False):
    """One pod's verdict. ``problem`` is empty for a healthy pod."""

    name: str
    namespace: str
    phase: str
    state: int = OK
    problem: str = ""
    restarts: int = 0
    oom_killed: bool = False
    recent_restarts: int = 0
    """Restarts the pod itself shows within ``RESTART_WINDOW`` (for the first look)."""

    def line(self) -> str:
        return f"{self.namespace}/{self.name}: {self.problem}"


def condition(conds: list[Condition] | None, kind: str) -> Condition | None:
    for c in conds or ():
        if c.type == kind:
            return c
    return None


def _all_statuses(pod: Pod) -> list[ContainerStatus]:
    st = pod.status
    return [*(st.init_container_statuses or ()), *(st.container_statuses or ())]


def _restarts(pod: Pod) -> int:
    return sum(c.restart_count for c in _all_statuses(pod))


def _recent_restarts(pod: Pod, now: float) -> int:
    """Restarts that the pod's own timestamps place within the last ``RESTART_WINDOW``: all of
    a container's restarts when the pod started within it, else one when its last
    termination finished within it. A lower bound, so a crash loop counts from the first
    look instead of from the second hour."""
    started = seconds_since(pod.status.start_time, now)
    if started is not None and started <= RESTART_WINDOW:
        return _restarts(pod)
    count = 0
    for c in _all_statuses(pod):
        last = c.last_state.terminated if c.last_state is not None else None
        if c.restart_count and last is not None:
            age = seconds_since(last.finished_at, now)
            if age is not None and age <= RESTART_WINDOW:
                count += 1
    return count


def _oom(pod: Pod, now: float, window: float) -> str:
    """The container OOMKilled within ``window`` seconds, or ''."""
    for c in _all_statuses(pod):
        for cs in (c.state, c.last_state):
            term = cs.terminated if cs is not None else None
            if term is not None and term.reason == "OOMKilled":
                age = seconds_since(term.finished_at, now)
                if age is None or age <= window:
                    return c.name
    return ""


def _broken(pod: Pod) -> tuple[str, str] | None:
    """(reason, text) of the first container waiting for a reason that needs a human."""
    for c in _all_statuses(pod):
        waiting = c.state.waiting if c.state is not None else None
        if waiting is not None and waiting.reason in BROKEN_WAITING:
            text = f"{waiting.reason} (container {c.name}"
            if c.restart_count:
                text += f", {c.restart_count} restarts"
            last = c.last_state.terminated if c.last_state is not None else None
            if last is not None and (last.reason or last.exit_code):
                text += f", last exit {last.exit_code} {last.reason}".rstrip()
            elif waiting.message:
                text += f": {_short(waiting.message)}"
            return waiting.reason, text + ")"
    return None


def _terminated(pod: Pod) -> str:
    """``container X OOMKilled (exit 137)`` for the first container that ended badly."""
    for c in _all_statuses(pod):
        for cs in (c.state, c.last_state):
            term = cs.terminated if cs is not None else None
            if term is not None and (term.exit_code or term.reason not in ("", "Completed")):
                return f"container {c.name} {term.reason or 'exited'} (exit {term.exit_code})"
    return ""


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _waiting_reason(pod: Pod) -> str:
    for c in _all_statuses(pod):
        waiting = c.state.waiting if c.state is not None else None
        if waiting is not None and waiting.reason:
            return f"{waiting.reason} (container {c.name})"
    return ""


def _since(pod: Pod, cond: Condition | None) -> datetime | None:
    if cond is not None and cond.last_transition_time is not None:
        return cond.last_transition_time
    return pod.status.start_time or pod.metadata.creation_timestamp


def assess(
    pod: Pod, now: float, params: KubeParams, event: Event | None = None, *, in_job: bool = False
) -> PodHealth:
    """The verdict on ``pod`` at ``now``. ``event`` is the pod's latest Warning event, if
    known (names e.g. FailedMount for a pod stuck in ContainerCreating). Failed pods of a
    Job are retries: the Job's own check judges them (``in_job``)."""
    meta, status = pod.metadata, pod.status
    phase = status.phase or "Unknown"
    restarts = _restarts(pod)
    oom = _oom(pod, now, params.oom_window)

    recent = _recent_restarts(pod, now) if restarts else 0

    def verdict(state: int = OK, problem: str = "") -> PodHealth:
        return PodHealth(
            meta.name, meta.namespace, phase, state, problem, restarts, bool(oom), recent
        )

    if phase == "Succeeded":
        return verdict()
    broken = _broken(pod)
    if broken is not None:
        return verdict(CRIT, broken[1])
    if phase == "Failed":
        text = f"Failed{': ' + status.reason if status.reason else ''}"
        if status.message:
            text += f" ({_short(status.message)})"
        term = _terminated(pod)
        if term:
            text += f" ({term})"
        return verdict(WARN if in_job else CRIT, problem=text)
    if phase not in KNOWN_PHASES:
        return verdict(WARN, f"unknown phase {phase!r}")
    scheduled = condition(status.conditions, "PodScheduled")
    ready = condition(status.conditions, "Ready")
    problem = ""
    since: datetime | None = None
    if scheduled is not None and scheduled.status == "False":
        problem = f"{scheduled.reason or 'not scheduled'}: {_short(scheduled.message)}".rstrip(": ")
        since = _since(pod, scheduled)
    elif phase in ("Pending", "Unknown") or (ready is not None and ready.status != "True"):
        what = "Pending" if phase == "Pending" else f"{phase}, not ready"
        waiting = _waiting_reason(pod)
        problem = f"{what}: {waiting}" if waiting else what
        if event is not None:
            problem += f"; {event.reason}: {_short(event.message)}"
        since = _since(pod, ready if phase == "Running" else None)
    if problem:
        age = seconds_since(since, now)
        state = upper(age, params.pending_levels) if age is not None else WARN
        return verdict(state, problem=f"{problem} for {human_age(age)}")
    if oom:
        return verdict(WARN, problem=f"container {oom} OOMKilled")
    return verdict()

"""Pod verdicts on real recorded pods (troubleshoot and nri-kubernetes) and edge cases."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from lookout.checks.kube.api import CRIT, OK, WARN
from lookout.checks.kube.params import DEFAULT
from lookout.checks.kube.pods import assess
from lookout.checks.kube.sections import Event, Pod

FIXTURES = Path(__file__).resolve().parents[4] / "shared" / "fixtures"
PODS = FIXTURES / "troubleshoot" / "analyze-files" / "pods"
NOW = dt.datetime(2023, 7, 11, 6, 0, tzinfo=dt.UTC).timestamp()
"""About an hour after the troubleshoot recordings."""


def recorded(name: str) -> Pod:
    if not PODS.is_dir():
        pytest.skip(f"recorded fixtures not found at {FIXTURES}")
    [item] = json.loads((PODS / f"{name}.json").read_text())["items"]
    return msgspec.convert(item, Pod, strict=False)


@pytest.mark.parametrize(
    ("case", "in_job", "state", "problem"),
    [
        ("message-oomkill-pod", True, WARN, "Failed (container memory-eater OOMKilled (exit 137))"),
        (
            "message-oomkill-pod",
            False,
            CRIT,
            "Failed (container memory-eater OOMKilled (exit 137))",
        ),
        (
            "message-pod-crashloop-backoff",
            False,
            CRIT,
            "CrashLoopBackOff (container nginx, 4 restarts, last exit 127 ContainerCannotRun)",
        ),
        (
            "message-pending-pod-resources",
            False,
            CRIT,
            "Unschedulable: 0/1 nodes are available: 1 Insufficient nvidia.com/gpu.",
        ),
        (
            "message-pending-node-affinity",
            False,
            CRIT,
            "Unschedulable: 0/1 nodes are available: 1 node(s) didn't match Pod's node "
            "affinity/selector.",
        ),
        ("default", False, OK, ""),
    ],
)
def test_recorded_pods(case: str, in_job: bool, state: int, problem: str) -> None:
    h = assess(recorded(case), NOW, DEFAULT, in_job=in_job)
    assert h.state == state
    assert h.problem.startswith(problem)


def test_image_pull_names_the_reason() -> None:
    h = assess(recorded("message-image-pull-fail"), NOW, DEFAULT)
    assert h.state == CRIT
    assert h.problem.startswith("ErrImagePull (container demo-deployment-container: rpc error")


def test_failed_mount_is_named_from_the_event() -> None:
    pod = recorded("message-container-creating-failed-mount")
    event = Event(
        reason="FailedMount", message='MountVolume.SetUp failed for volume "host"', type="Warning"
    )
    h = assess(pod, NOW, DEFAULT, event)
    assert h.problem.startswith(
        "Pending: ContainerCreating (container collector); "
        'FailedMount: MountVolume.SetUp failed for volume "host" for '
    )
    assert h.state == CRIT  # pending since 2023-07-09: past the 1 h CRIT level


def test_pending_levels_follow_the_clock() -> None:
    pod = recorded("message-pending-pod-resources")
    since = dt.datetime(2023, 7, 11, 4, 20, 29, tzinfo=dt.UTC).timestamp()
    assert assess(pod, since + 60, DEFAULT).state == OK
    assert assess(pod, since + 1000, DEFAULT).state == WARN
    assert assess(pod, since + 4000, DEFAULT).state == CRIT


def _pod(**status: Any) -> Pod:
    return msgspec.convert({"metadata": {"name": "p", "namespace": "n"}, "status": status}, Pod)


def test_oom_in_last_state_is_warn_while_recent() -> None:
    finished = "2023-07-11T05:30:00Z"
    pod = _pod(
        phase="Running",
        conditions=[{"type": "Ready", "status": "True"}],
        containerStatuses=[
            {
                "name": "app",
                "ready": True,
                "restartCount": 2,
                "state": {"running": {}},
                "lastState": {
                    "terminated": {"exitCode": 137, "reason": "OOMKilled", "finishedAt": finished}
                },
            }
        ],
    )
    h = assess(pod, NOW, DEFAULT)
    assert (h.state, h.problem, h.oom_killed, h.restarts) == (
        WARN,
        "container app OOMKilled",
        True,
        2,
    )
    assert assess(pod, NOW + 7200, DEFAULT).state == OK


@pytest.mark.parametrize(
    "status", [{}, {"phase": "Unknown"}, {"phase": "Running", "conditions": None}]
)
def test_sparse_pods_do_not_crash(status: dict[str, Any]) -> None:
    h = assess(_pod(**status), NOW, DEFAULT)
    assert h.state in (OK, WARN, CRIT)


def test_succeeded_is_fine() -> None:
    assert assess(_pod(phase="Succeeded"), NOW, DEFAULT).problem == ""

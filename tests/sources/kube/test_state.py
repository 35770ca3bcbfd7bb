"""State that survives a restart: a monitor evaluates, its state is saved in the site database,
a new monitor (as after a site restart) restores it and reaches the same verdicts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from kubeapi import KubeApi

from lookout.checks.kube.evaluate import Evaluation
from lookout.sources.kube import state
from lookout.sources.kube.credentials import Credentials
from lookout.sources.kube.mapping import Mapper
from lookout.sources.kube.monitor import ClusterMonitor, ClusterSpec
from lookout.storage import kube as store
from lookout.storage.database import migrate, open_database

pytestmark = pytest.mark.integration
T0 = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC).timestamp()


def ago(seconds: float, now: float = T0) -> str:
    return dt.datetime.fromtimestamp(now - seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _pod(restarts: int, last_crash: float) -> dict[str, Any]:
    return {
        "kind": "Pod",
        "metadata": {
            "name": "db-0",
            "namespace": "shop",
            "ownerReferences": [{"kind": "StatefulSet", "name": "db", "controller": True}],
        },
        "spec": {"nodeName": "n1"},
        "status": {
            "phase": "Running",
            "startTime": ago(7200),
            "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": ago(60)}],
            "containerStatuses": [
                {
                    "name": "db",
                    "ready": True,
                    "restartCount": restarts,
                    "state": {"running": {"startedAt": ago(60)}},
                    "lastState": {
                        "terminated": {"exitCode": 1, "reason": "Error", "finishedAt": last_crash}
                    },
                }
            ],
        },
    }


def _feed(api: KubeApi) -> None:
    api.add(
        {
            "kind": "Node",
            "metadata": {"name": "n1"},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        }
    )
    api.add(
        {
            "kind": "StatefulSet",
            "metadata": {"name": "db", "namespace": "shop", "generation": 1},
            "spec": {"replicas": 2},
            "status": {"observedGeneration": 1, "replicas": 1, "readyReplicas": 1},
        }
    )
    api.add(_pod(5, ago(7000)))


def _verdicts(ev: Evaluation) -> dict[tuple[str, str], tuple[int, str]]:
    """Every service's state and summary, but the monitor's own heartbeat (its counters are
    the process's, not the cluster's)."""
    return {(h, s): (o.state, o.summary) for h, s, o in ev.outcomes if s != "Kubernetes monitor"}


async def _evaluate(m: ClusterMonitor, now: float) -> Evaluation:
    m.clock = lambda: now
    m.objects = type(m.objects)()
    await m.sync()
    return await m.evaluate_once()


async def test_a_restart_changes_no_verdict(
    api: KubeApi, creds: Credentials, database_url: str
) -> None:
    db = open_database(database_url)
    migrate(db)
    _feed(api)
    spec = ClusterSpec("lab", creds, usage="none")
    first, first_mapper = ClusterMonitor(spec), Mapper("lab")
    try:
        await _evaluate(first, T0)
        api.add(_pod(9, ago(30, T0 + 600)))  # four restarts in the ten minutes since
        before = await _evaluate(first, T0 + 600)
        assert _verdicts(before)[("k8s:lab:statefulset:shop:db", "Restarts")] == (
            1,
            "4 in the last hour (!), 9 in total",
        )
        first_mapper.vanished["k8s:lab:ns:gone"] = T0 + 300
        saved = state.snapshot(first, first_mapper, T0 + 600)
        store.save_state(db, "lab", saved)
        after_first = await _evaluate(first, T0 + 900)
    finally:
        await first.aclose()
    # the site restarts: new monitor and mapper, state from the database
    second, second_mapper = ClusterMonitor(spec), Mapper("lab")
    try:
        state.restore(second, second_mapper, store.load_states(db)["lab"])
        after_restart = await _evaluate(second, T0 + 900)
    finally:
        await second.aclose()
    assert _verdicts(after_restart) == _verdicts(after_first)
    replicas = _verdicts(after_restart)[("k8s:lab:statefulset:shop:db", "Replicas")]
    assert replicas == (2, "1/2 ready, 0 available, 0 up to date, short for 15m (!!)")
    assert second_mapper.vanished == {"k8s:lab:ns:gone": T0 + 300}


async def test_without_the_saved_state_the_verdict_would_differ(
    api: KubeApi, creds: Credentials
) -> None:
    """The control: a monitor that starts empty at T0 + 900 sees one restart (the pod's own
    timestamps) and no shortfall duration, so the test above does test the restore."""
    _feed(api)
    api.add(_pod(9, ago(30, T0 + 600)))
    fresh = ClusterMonitor(ClusterSpec("lab", creds, usage="none"))
    try:
        got = _verdicts(await _evaluate(fresh, T0 + 900))
    finally:
        await fresh.aclose()
    assert got[("k8s:lab:statefulset:shop:db", "Restarts")] == (0, "1 in the last hour, 9 in total")
    assert got[("k8s:lab:statefulset:shop:db", "Replicas")][0] == 0


def test_an_unreadable_saved_state_starts_empty(creds: Credentials) -> None:
    m, mapper = ClusterMonitor(ClusterSpec("lab", creds)), Mapper("lab")
    state.restore(m, mapper, store.SavedState(b"\xc1 not msgpack", {"h": 1.0}, 0.0))
    assert m.memory.since == {}
    assert mapper.vanished == {}

"""One root cause pages once, and the page names what it affects (issue 15): a service
that depends on another is handled while that one has a problem, in a running site."""

from __future__ import annotations

import pytest
from harness import Harness
from notifysite import HOOK, rows, settled

from lookout.domain.objects import HostConfig, ServiceConfig
from lookout.domain.results import CheckResult
from lookout.engine.inputs import Results

pytestmark = pytest.mark.integration


async def node(h: Harness) -> None:
    site = h.site
    await site.save_host(HostConfig(name="node1"), create=True)
    for name, deps in (("Kubelet", ()), ("Filesystem", (("node1", "Kubelet"),))):
        cfg = ServiceConfig(
            host="node1", name=name, max_check_attempts=1, stale_after=0, depends_on=deps
        )
        await site.save_service(cfg, create=True)


async def both(h: Harness, kubelet: int, filesystem: int) -> None:
    # the consequence first in the batch: the engine still judges it after its cause
    results = [
        CheckResult("node1", "Filesystem", filesystem, f"filesystem {filesystem}"),
        CheckResult("node1", "Kubelet", kubelet, f"kubelet {kubelet}"),
    ]
    await h.site.runner.apply(Results(at=h.site.clock(), results=results))


async def test_one_cause_pages_once_naming_what_it_affects(h: Harness) -> None:
    await h.configure([HOOK], [{"name": "all", "channels": ["hook"], "events": ["problem"]}])
    await node(h)
    await both(h, kubelet=2, filesystem=3)
    await settled(h)
    [page] = rows(h)
    assert (page.host, page.service, page.kind) == ("node1", "Kubelet", "problem")
    assert page.payload["extra"]["affects"] == ["node1/Filesystem"]
    fs = h.site.engine.status[("node1", "Filesystem")]
    assert fs.state == 3
    assert h.site.engine.handled(fs)
    [change] = [
        e
        for e in h.site.engine.events + h.site.runner.recent_events()
        if e.service == "Filesystem" and e.type == "state_change"
    ]
    assert change.data["cause"] == "node1/Kubelet"
    assert change.data["notify"] is False


async def test_a_problem_left_when_its_cause_recovers_pages_on_its_own(h: Harness) -> None:
    await h.configure([HOOK], [{"name": "all", "channels": ["hook"], "events": ["problem"]}])
    await node(h)
    await both(h, kubelet=2, filesystem=2)
    await both(h, kubelet=0, filesystem=2)  # the kubelet is back, the disk is still full
    await settled(h)
    h.clock.advance(60)  # type: ignore[attr-defined]
    await h.site.notifier.rescan()
    pages = [(d.service, d.kind) for d in rows(h)]
    assert pages == [("Kubelet", "problem"), ("Kubelet", "recovery"), ("Filesystem", "problem")]

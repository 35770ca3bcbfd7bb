"""From evaluations to configuration: creation, updates, grace before removal, partial views."""

from __future__ import annotations

from lookout.checks.kube.api import CRIT, OK, UNKNOWN, Outcome
from lookout.checks.kube.evaluate import Evaluation, HostSpec
from lookout.domain.objects import HostConfig, ServiceConfig
from lookout.sources.kube.mapping import Mapper, MappingSettings, all_hosts_of

CL = {"k8s/cluster": "c", "k8s/kind": "node"}


def _eval(nodes: dict[str, int], partial: bool = False) -> Evaluation:
    ev = Evaluation(partial=partial)
    ev.hosts.append(HostSpec("k8s:c", "cluster", {"k8s/cluster": "c", "k8s/kind": "cluster"}))
    ev.add("k8s:c", "Kubernetes API", Outcome(OK, "live and ready"))
    for name, state in nodes.items():
        host = f"k8s:c:node:{name}"
        ev.hosts.append(HostSpec(host, "node", CL, ("k8s:c",)))
        ev.add(host, "Condition", Outcome(state, "x"))
    return ev


class Site:
    """What the site holds: applies a plan like Site.apply_batch does."""

    def __init__(self) -> None:
        self.hosts: dict[str, HostConfig] = {"other": HostConfig(name="other")}
        self.services: dict[str, dict[str, ServiceConfig]] = {"other": {}}

    def apply(self, mapper: Mapper, ev: Evaluation, now: float) -> object:
        plan = mapper.plan(ev, self.hosts, self.services, now)
        for h in plan.hosts:
            self.hosts[h.name] = h
            self.services.setdefault(h.name, {})
        for s in plan.services:
            self.services[s.host][s.name] = s
        for host, name in plan.remove_services:
            del self.services[host][name]
        for name in plan.remove_hosts:
            del self.hosts[name]
            del self.services[name]
        return plan


def test_hosts_appear_once_and_change_only_when_needed() -> None:
    site, mapper = Site(), Mapper("c", MappingSettings(interval=30, max_check_attempts=4))
    plan = site.apply(mapper, _eval({"a": OK, "b": CRIT}), 0)
    assert sorted(h.name for h in plan.hosts) == ["k8s:c", "k8s:c:node:a", "k8s:c:node:b"]
    assert site.hosts["k8s:c:node:a"].parents == ("k8s:c",)
    svc = site.services["k8s:c:node:a"]["Condition"]
    assert (svc.check_interval, svc.max_check_attempts, svc.labels) == (30, 4, {"k8s/cluster": "c"})
    host_results = {r.host: r.state for r in plan.results if r.service == ""}
    assert host_results == {"k8s:c": 0, "k8s:c:node:a": 0, "k8s:c:node:b": 1}  # b is DOWN
    assert plan.results[0].service == ""  # hosts first
    again = site.apply(mapper, _eval({"a": OK, "b": OK}), 60)
    assert again.changes() == 0
    assert len(again.results) == 6


def test_vanished_objects_go_unknown_then_away_after_the_grace() -> None:
    site, mapper = Site(), Mapper("c", MappingSettings(grace=600))
    site.apply(mapper, _eval({"a": OK, "b": OK}), 0)
    plan = site.apply(mapper, _eval({"a": OK}), 60)
    assert plan.remove_hosts == []
    gone = [r for r in plan.results if r.host == "k8s:c:node:b"]
    assert [(r.service, r.state) for r in gone] == [("Condition", UNKNOWN)]
    assert "gone from the cluster since 0s" in gone[0].summary
    plan = site.apply(mapper, _eval({"a": OK}), 700)
    assert plan.remove_hosts == ["k8s:c:node:b"]
    assert "k8s:c:node:b" not in site.hosts
    assert "other" in site.hosts  # not ours: never touched
    back = site.apply(mapper, _eval({"a": OK, "b": OK}), 800)
    assert "k8s:c:node:b" in [h.name for h in back.hosts]


def test_coming_back_within_the_grace_cancels_removal() -> None:
    site, mapper = Site(), Mapper("c", MappingSettings(grace=600))
    site.apply(mapper, _eval({"a": OK, "b": OK}), 0)
    site.apply(mapper, _eval({"a": OK}), 60)
    site.apply(mapper, _eval({"a": OK, "b": OK}), 120)
    plan = site.apply(mapper, _eval({"a": OK}), 1000)
    assert plan.remove_hosts == []  # the grace started again at 1000


def test_partial_evaluations_remove_nothing() -> None:
    site, mapper = Site(), Mapper("c", MappingSettings(grace=0))
    site.apply(mapper, _eval({"a": OK}), 0)
    plan = site.apply(mapper, _eval({}, partial=True), 60)
    assert plan.remove_hosts == []
    assert plan.remove_services == []
    assert all_hosts_of("c", site.hosts) == ["k8s:c", "k8s:c:node:a"]


def test_services_that_disappear_are_removed_at_once() -> None:
    site, mapper = Site(), Mapper("c")
    ev = _eval({"a": OK})
    ev.add("k8s:c:node:a", "Filesystem", Outcome(OK, "fine"))
    site.apply(mapper, ev, 0)
    plan = site.apply(mapper, _eval({"a": OK}), 60)
    assert plan.remove_services == [("k8s:c:node:a", "Filesystem")]

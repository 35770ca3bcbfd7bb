"""From an evaluation to configuration and results: which hosts and services to create,
update or remove (after a grace period), and the check results to submit.

Pure apart from the remembered vanishing times; the site applies the plan in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from lookout.checks.kube.api import CRIT, UNKNOWN
from lookout.checks.kube.evaluate import Evaluation
from lookout.checks.kube.naming import cluster_host
from lookout.domain.objects import HostConfig, ServiceConfig
from lookout.domain.results import CheckResult

CLUSTER_LABEL = "k8s/cluster"


@dataclass(frozen=True)
class MappingSettings:
    interval: float = 60.0
    max_check_attempts: int = 3
    stale_after: float = 3.0
    grace: float = 600.0


@dataclass
class Plan:
    hosts: list[HostConfig] = field(default_factory=list)
    """New or changed hosts."""
    services: list[ServiceConfig] = field(default_factory=list)
    remove_services: list[tuple[str, str]] = field(default_factory=list)
    remove_hosts: list[str] = field(default_factory=list)
    results: list[CheckResult] = field(default_factory=list)

    def changes(self) -> int:
        return (
            len(self.hosts)
            + len(self.services)
            + len(self.remove_services)
            + len(self.remove_hosts)
        )


class Mapper:
    """Keeps one cluster's hosts in line with its objects."""

    def __init__(self, cluster: str, settings: MappingSettings | None = None) -> None:
        self.cluster = cluster
        self.settings = settings or MappingSettings()
        self.vanished: dict[str, float] = {}
        """Host → when its object was first missing."""

    def plan(
        self,
        ev: Evaluation,
        hosts: Mapping[str, HostConfig],
        services: Mapping[str, Mapping[str, ServiceConfig]],
        now: float,
    ) -> Plan:
        """``hosts``/``services``: what the site has now (all hosts; only this cluster's are
        touched). Hosts of vanished objects keep their services (UNKNOWN) for ``grace``."""
        s = self.settings
        plan = Plan()
        wanted: dict[str, dict[str, None]] = {}
        for spec in ev.hosts:
            wanted[spec.name] = {}
            cfg = HostConfig(
                name=spec.name,
                labels=spec.labels,
                parents=spec.parents,
                check_interval=s.interval,
                retry_interval=s.interval,
                max_check_attempts=1,
            )
            if hosts.get(spec.name) != cfg:
                plan.hosts.append(cfg)
            self.vanished.pop(spec.name, None)
        states: dict[tuple[str, str], int] = {}
        for host, name, out in ev.outcomes:
            wanted.setdefault(host, {})[name] = None
            cfg_s = ServiceConfig(
                host=host,
                name=name,
                check_interval=s.interval,
                retry_interval=s.interval,
                max_check_attempts=s.max_check_attempts,
                stale_after=s.stale_after,
                labels={CLUSTER_LABEL: self.cluster},
                depends_on=ev.depends.get((host, name), ()),
            )
            if services.get(host, {}).get(name) != cfg_s:
                plan.services.append(cfg_s)
            states[(host, name)] = out.state
            plan.results.append(
                CheckResult(host, name, out.state, out.summary, out.details, out.metrics, now)
            )
        # host results first: services of a host that is down are flagged as such
        plan.results[:0] = [
            CheckResult(spec.name, "", *_host_state(spec.kind, spec.name, states), "", (), now)
            for spec in ev.hosts
        ]
        self._retire(ev, hosts, services, wanted, now, plan)
        return plan

    def _retire(
        self,
        ev: Evaluation,
        hosts: Mapping[str, HostConfig],
        services: Mapping[str, Mapping[str, ServiceConfig]],
        wanted: dict[str, dict[str, None]],
        now: float,
        plan: Plan,
    ) -> None:
        if ev.partial:  # not a complete picture: remove nothing
            return
        for name, cfg in hosts.items():
            if cfg.labels.get(CLUSTER_LABEL) != self.cluster:
                continue
            if name in wanted:
                for svc in services.get(name, {}):
                    if svc not in wanted[name]:
                        plan.remove_services.append((name, svc))
                continue
            since = self.vanished.setdefault(name, now)
            if now - since >= self.settings.grace:
                plan.remove_hosts.append(name)
                del self.vanished[name]
                continue
            text = (
                f"the object is gone from the cluster since {now - since:.0f}s; "
                f"host removed after {self.settings.grace:.0f}s"
            )
            for svc in services.get(name, {}):
                plan.results.append(CheckResult(name, svc, UNKNOWN, text, "", (), now))


def _host_state(kind: str, name: str, states: dict[tuple[str, str], int]) -> tuple[int, str]:
    """Nodes are DOWN when their Condition is CRIT (not ready, unreachable); the cluster host
    when its API is not healthy. Everything else that exists is UP."""
    if kind == "node" and states.get((name, "Condition")) == CRIT:
        return 1, "node not ready or unreachable (see Condition)"
    if kind == "cluster" and states.get((name, "Kubernetes API")) == CRIT:
        return 1, "API server not healthy (see Kubernetes API)"
    return 0, f"{kind} present in the cluster"


def all_hosts_of(cluster: str, hosts: Mapping[str, HostConfig]) -> list[str]:
    """Host names that belong to ``cluster`` (for removing a cluster)."""
    return [
        n
        for n, h in hosts.items()
        if h.labels.get(CLUSTER_LABEL) == cluster or n == cluster_host(cluster)
    ]

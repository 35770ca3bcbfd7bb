"""What applying a tree would do (pure): objects to write and to remove, and the diff to show.

Hosts and services are compared as the engine holds them (:class:`HostConfig`,
:class:`ServiceConfig`, msgspec structs compared in C), so a no-change apply of 100,000
services costs one struct build and one comparison per service; only entries that differ are
validated in full (the caller does that with the API's models).

What apply removes: hosts and services that carry the label ``lookout/managed=config`` (apply
sets it on everything it writes) and are not in the tree; objects made by hand, by agents or by
Kubernetes are never removed. For the named kinds (commands, groups, channels, rules, contacts,
downtimes), a tree that has the kind manages all of it (downtimes: those apply scheduled).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from lookout.configcode.tree import MANAGED_LABEL, MANAGED_VALUE
from lookout.domain.objects import HostConfig, ServiceConfig

T = TypeVar("T")
HOST_DEFAULTS: dict[str, Any] = {
    "address": "",
    "labels": {},
    "parents": [],
    "groups": [],
    "check": None,
    "check_interval": 60.0,
    "retry_interval": 60.0,
    "max_check_attempts": 1,
    "event_handler": None,
}


@dataclass(frozen=True, slots=True)
class ServiceDefaults:
    """The site's defaults for fields a service entry leaves out (``[services]`` settings)."""

    check_interval: float = 60.0
    retry_interval: float = 60.0
    max_check_attempts: int = 3
    stale_after: float = 3.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": None,
            "check_interval": self.check_interval,
            "retry_interval": self.retry_interval,
            "max_check_attempts": self.max_check_attempts,
            "stale_after": self.stale_after,
            "params": {},
            "labels": {},
            "event_handler": None,
            "depends_on": [],
        }


@dataclass(slots=True)
class Change:
    """Names to create, change and remove for one kind."""

    create: list[str] = field(default_factory=list)
    change: list[str] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "create": len(self.create),
            "change": len(self.change),
            "remove": len(self.remove),
            "names": {"create": self.create, "change": self.change, "remove": self.remove},
        }

    def __bool__(self) -> bool:
        return bool(self.create or self.change or self.remove)


@dataclass(slots=True)
class ObjectPlan:
    hosts: list[HostConfig] = field(default_factory=list)
    """Built from the raw entries: the caller replaces them with validated ones."""
    services: list[ServiceConfig] = field(default_factory=list)
    remove_services: list[tuple[str, str]] = field(default_factory=list)
    remove_hosts: list[str] = field(default_factory=list)
    host_changes: Change = field(default_factory=Change)
    service_changes: Change = field(default_factory=Change)
    host_entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The raw entries of hosts to write, for full validation."""
    service_entries: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)


def managed(labels: Mapping[str, str]) -> bool:
    return labels.get(MANAGED_LABEL) == MANAGED_VALUE


def host_config(e: Mapping[str, Any]) -> HostConfig:
    """The engine's host for a tree entry (defaults filled in, the managed label set)."""
    return HostConfig(
        name=e["name"],
        address=e.get("address", ""),
        labels={**e.get("labels", {}), MANAGED_LABEL: MANAGED_VALUE},
        parents=tuple(e.get("parents", ())),
        groups=tuple(e.get("groups", ())),
        check=e.get("check"),
        check_interval=e.get("check_interval", 60.0),
        retry_interval=e.get("retry_interval", 60.0),
        max_check_attempts=e.get("max_check_attempts", 1),
        event_handler=_handler(e.get("event_handler")),
    )


def service_config(host: str, e: Mapping[str, Any], d: ServiceDefaults) -> ServiceConfig:
    stale = e.get("stale_after")
    return ServiceConfig(
        host=host,
        name=e["name"],
        check=e.get("check"),
        check_interval=e.get("check_interval") or d.check_interval,
        retry_interval=e.get("retry_interval") or d.retry_interval,
        max_check_attempts=e.get("max_check_attempts") or d.max_check_attempts,
        stale_after=d.stale_after if stale is None else stale,
        params=e.get("params", {}),
        labels={**e.get("labels", {}), MANAGED_LABEL: MANAGED_VALUE},
        event_handler=_handler(e.get("event_handler")),
        depends_on=tuple((d["host"], d["service"]) for d in e.get("depends_on") or ()),
    )


def _handler(raw: Any) -> Any:
    """An event handler with its defaults filled in, as the API stores it (so that a tree that
    leaves them out compares equal to the site)."""
    if not isinstance(raw, Mapping):
        return raw
    return {
        "command": raw.get("command"),
        "args": list(raw.get("args") or []),
        "timeout": float(raw.get("timeout", 30.0)),
    }


def _without_defaults(data: dict[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in defaults or defaults[k] != v}


def host_entry(cfg: HostConfig) -> dict[str, Any]:
    """A host as a tree entry: fields at their default left out, the managed label dropped."""
    data = {
        "name": cfg.name,
        "address": cfg.address,
        "labels": {k: v for k, v in cfg.labels.items() if k != MANAGED_LABEL},
        "parents": list(cfg.parents),
        "groups": list(cfg.groups),
        "check": cfg.check,
        "check_interval": cfg.check_interval,
        "retry_interval": cfg.retry_interval,
        "max_check_attempts": cfg.max_check_attempts,
        "event_handler": cfg.event_handler,
    }
    return _without_defaults(data, HOST_DEFAULTS)


def service_entry(cfg: ServiceConfig, d: ServiceDefaults) -> dict[str, Any]:
    data = {
        "name": cfg.name,
        "check": cfg.check,
        "check_interval": cfg.check_interval,
        "retry_interval": cfg.retry_interval,
        "max_check_attempts": cfg.max_check_attempts,
        "stale_after": cfg.stale_after,
        "params": cfg.params,
        "labels": {k: v for k, v in cfg.labels.items() if k != MANAGED_LABEL},
        "event_handler": cfg.event_handler,
        "depends_on": [{"host": h, "service": s} for h, s in cfg.depends_on],
    }
    return _without_defaults(data, d.as_dict())


def plan_objects(
    entries: Iterable[Mapping[str, Any]],
    hosts: Mapping[str, HostConfig],
    host_services: Mapping[str, Mapping[str, ServiceConfig]],
    defaults: ServiceDefaults,
) -> ObjectPlan:
    """Hosts and services to write and remove so that the site matches ``entries``."""
    plan = ObjectPlan()
    seen: set[str] = set()
    for e in entries:
        name = e["name"]
        seen.add(name)
        want = _built(host_config, e)
        have = hosts.get(name)
        if want is None or have != want:
            (plan.host_changes.create if have is None else plan.host_changes.change).append(name)
            if want is not None:
                plan.hosts.append(want)
            plan.host_entries[name] = dict(e)
        _plan_services(plan, name, e.get("services", ()), host_services.get(name, {}), defaults)
    for name, cfg in hosts.items():
        if name not in seen and managed(cfg.labels):
            plan.remove_hosts.append(name)
            plan.host_changes.remove.append(name)
            plan.service_changes.remove.extend(f"{name}/{s}" for s in host_services.get(name, {}))
    return plan


def _plan_services(
    plan: ObjectPlan,
    host: str,
    entries: Iterable[Mapping[str, Any]],
    current: Mapping[str, ServiceConfig],
    defaults: ServiceDefaults,
) -> None:
    seen: set[str] = set()
    for e in entries:
        name = e["name"]
        seen.add(name)
        want = _built(lambda x: service_config(host, x, defaults), e)
        have = current.get(name)
        if want is None or have != want:
            changes = plan.service_changes
            (changes.create if have is None else changes.change).append(f"{host}/{name}")
            if want is not None:
                plan.services.append(want)
            plan.service_entries[(host, name)] = dict(e)
    for name, cfg in current.items():
        if name not in seen and managed(cfg.labels):
            plan.remove_services.append((host, name))
            plan.service_changes.remove.append(f"{host}/{name}")


def _built(make: Callable[[Any], T], entry: Mapping[str, Any]) -> T | None:
    """``make(entry)``, or None when the raw entry has the wrong shape (the caller's full
    validation then says what is wrong)."""
    try:
        return make(entry)
    except (TypeError, ValueError, KeyError):
        return None


def plan_named(current: Mapping[str, Any], desired: Mapping[str, Any]) -> Change:
    """Create / change / remove for a kind whose objects are compared whole, by name."""
    change = Change()
    for name, value in desired.items():
        if name not in current:
            change.create.append(name)
        elif current[name] != value:
            change.change.append(name)
    change.remove = [name for name in current if name not in desired]
    return change

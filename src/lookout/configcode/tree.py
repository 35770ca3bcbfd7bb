"""A site's configuration as one tree of plain data, validated with the API's own models.

The tree is what ``lookout config export`` writes, ``lookout config apply`` sends and
``lookout import nagios`` makes. As JSON (the wire form, ``POST /api/v1/config/apply``)::

    {"hosts": [{<HostIn fields>, "services": [{<ServiceIn fields>}, …]}, …],
     "commands": [{"name", "command_line"}], "host_groups": [{"name", "alias"}],
     "service_groups": [{"name", "alias"}], "channels": [{"name", "spec"}],
     "rules": [<Rule>, … in order], "contacts": [<Contact>],
     "downtimes": [{"host", "service", "start", "end", "recurrence", …}],
     "check_rules": [<CheckRule>, … in order]}

A kind that is missing (or null) is not managed by the tree: apply leaves it alone. The file
layout is :mod:`lookout.configcode.files`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from lookout.checks.active.rules import CheckRule
from lookout.notify.spec import NAME_PATTERN, Contact, Rule
from lookout.wire.api import Body, HostIn, Name, ServiceIn, ServiceName, Text, Timestamp

MANAGED_LABEL = "lookout/managed"
"""Label apply sets on the hosts and services it creates; only objects carrying it are ever
removed by apply (Kubernetes, agents and hand-made objects are left alone)."""
MANAGED_VALUE = "config"
MANAGED_AUTHOR = "lookout config"
"""Author of the recurring downtimes apply schedules (the ones it may remove)."""
KINDS = (
    "hosts",
    "services",
    "commands",
    "host_groups",
    "service_groups",
    "channels",
    "rules",
    "contacts",
    "downtimes",
    "check_rules",
)
COMMAND_NAME = r"^[A-Za-z0-9_.\-]{1,255}$"


class HostEntry(HostIn):
    services: list[ServiceIn] = Field(default_factory=list)

    @field_validator("services")
    @classmethod
    def _unique(cls, services: list[ServiceIn]) -> list[ServiceIn]:
        _no_duplicates([s.name for s in services], "service")
        return services


class CommandEntry(Body):
    name: str = Field(pattern=COMMAND_NAME)
    command_line: Text = Field(min_length=1, max_length=8192)


class GroupEntry(Body):
    name: Name
    alias: Text = Field("", max_length=255)


class ChannelEntry(Body):
    """A channel with its secrets as given (resolved from the environment by the CLI, or
    ``********``: keep what the site has)."""

    name: str = Field(pattern=NAME_PATTERN)
    spec: dict[str, Any]


class DowntimeEntry(Body):
    """A recurring downtime: ``start``/``end`` give the first occurrence, ``recurrence`` (cron,
    UTC) when it comes back."""

    host: Name
    service: ServiceName | None = None
    start: Timestamp
    end: Timestamp
    recurrence: str = Field(min_length=1, max_length=120)
    fixed: bool = True
    duration: float | None = Field(None, gt=0, le=100 * 365 * 86400)
    include_services: bool = False
    comment: Text = Field("", max_length=4096)

    def key(self) -> tuple[Any, ...]:
        """What identifies it across occurrences (start/end move on every occurrence)."""
        return downtime_key(self.model_dump())


def downtime_key(d: dict[str, Any]) -> tuple[Any, ...]:
    return (
        d["host"],
        d.get("service") or "",
        d["recurrence"],
        round(float(d["end"]) - float(d["start"]), 3),
        bool(d.get("fixed", True)),
        float(d.get("duration") or 0.0) if not d.get("fixed", True) else 0.0,
        bool(d.get("include_services", False)),
        d.get("comment", ""),
    )


class Tree(BaseModel):
    """The whole tree; ``None`` for a kind the tree does not manage."""

    model_config = ConfigDict(extra="forbid")

    hosts: list[HostEntry] | None = None
    commands: list[CommandEntry] | None = None
    host_groups: list[GroupEntry] | None = None
    service_groups: list[GroupEntry] | None = None
    channels: list[ChannelEntry] | None = None
    rules: list[Rule] | None = None
    contacts: list[Contact] | None = None
    downtimes: list[DowntimeEntry] | None = None
    check_rules: list[CheckRule] | None = None


def _no_duplicates(names: list[str], what: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"{what} {name!r} appears twice")
        seen.add(name)


def problems(exc: ValidationError, where: str = "") -> list[str]:
    """Pydantic errors as ``where: a.b.0: message`` lines."""
    out = []
    for e in exc.errors():
        loc = ".".join(str(p) for p in e["loc"])
        prefix = f"{where}: " if where else ""
        out.append(f"{prefix}{loc}: {e['msg']}" if loc else f"{prefix}{e['msg']}")
    return out


def check_references(tree: dict[str, Any]) -> list[str]:
    """Cross-object rules of a tree: unique names. Entries that are not objects are left to
    the models. (Host groups are names on hosts; ``groups.yaml`` adds their aliases.)"""
    out: list[str] = []
    hosts = _named_items(tree.get("hosts"), "name")
    if tree.get("hosts") is not None:
        try:
            _no_duplicates([h["name"] for h in hosts], "host")
        except ValueError as exc:
            out.append(f"hosts: {exc}")
    for kind in ("commands", "host_groups", "service_groups", "channels", "check_rules"):
        if tree.get(kind) is not None:
            try:
                _no_duplicates([i["name"] for i in _named_items(tree[kind], "name")], kind[:-1])
            except ValueError as exc:
                out.append(f"{kind}: {exc}")
    return out


def _named_items(items: Any, key: str) -> list[dict[str, Any]]:
    if not isinstance(items, list):
        return []
    return [i for i in items if isinstance(i, dict) and isinstance(i.get(key), str)]

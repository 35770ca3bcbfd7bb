"""Every table a client can ``GET``: its columns, its rows and who may see a row.

Rows come from the engine's memory (the ``log`` table from the event log: the database plus
what is not yet checkpointed, fetched in a thread with the query's time bounds).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from operator import attrgetter, itemgetter
from typing import Any

from lookout.domain.handling import Comment, Downtime
from lookout.engine.status import Status
from lookout.livestatus import logrows
from lookout.livestatus.columns import Column, Getter, col, const, index, prefixed
from lookout.livestatus.data import SiteData
from lookout.livestatus.objects import SERVICE_WEIGHT, host_columns, service_columns

LIVESTATUS_VERSION = "lookout-1"
Fetch = Callable[[float | None, float | None, int], Awaitable[list[Any]]]


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: dict[str, Column]
    rows: Callable[[], Iterable[Any]]
    visible: Callable[[SiteData, str, Any], bool] | None = None
    """Whether contact ``AuthUser`` may see a row (None: everyone sees every row)."""
    fetch: Fetch | None = None
    """Rows that need I/O (``log``): ``(since, until, limit)``, used instead of ``rows``."""
    lookup: dict[str, Callable[[str], Iterable[Any]]] = field(default_factory=dict)
    """Column → the rows whose value is the given one, for ``Filter: column = value`` at the
    top level (a host's services without a pass over every service)."""


def _sees(data: SiteData, user: str, st: Status | None) -> bool:
    if st is None:
        return False
    contacts = data.members(_groups(st))
    if user in contacts:
        return True
    host = st.host_status
    return host is not None and user in data.members(_groups(host))


def _groups(st: Status) -> list[str]:
    labels = st.cfg.labels if st.cfg is not None else {}
    return [g.strip() for g in labels.get("contact_groups", "").split(",") if g.strip()]


def _object_of(data: SiteData, row: Comment | Downtime) -> Status | None:
    return data.engine.status.get((row.host, row.service))


def _status_columns(data: SiteData) -> dict[str, Column]:
    def program(name: str, get: Callable[[SiteData], Any], kind: Any = "int") -> Column:
        return col(name, kind, get)

    return index(
        [
            program("program_start", lambda d: int(d.started_at), "time"),
            program("program_version", lambda d: f"Lookout {d.version}", "string"),
            program("livestatus_version", lambda _d: LIVESTATUS_VERSION, "string"),
            program("core_type", lambda _d: "lookout", "string"),
            program("nagios_pid", lambda _d: os.getpid()),
            program("num_hosts", lambda d: len(d.engine.hosts)),
            program("num_services", lambda d: len(d.engine.services)),
            program("connections", lambda d: d.counters.connections),
            program("requests", lambda d: d.counters.requests),
            program("external_commands", lambda d: d.counters.commands),
            program("service_checks", lambda d: d.engine.counters.results),
            program("enable_event_handlers", lambda d: int(d.event_handlers)),
            program("enable_flap_detection", lambda d: int(d.flap_detection)),
            program("last_command_check", lambda d: int(d.clock()), "time"),
            const("connections_rate", "float", 0.0),
            const("requests_rate", "float", 0.0),
            const("host_checks", "int", 0),
            const("enable_notifications", "int", 1),
            const("execute_service_checks", "int", 1),
            const("execute_host_checks", "int", 1),
            const("accept_passive_service_checks", "int", 1),
            const("accept_passive_host_checks", "int", 1),
            const("process_performance_data", "int", 1),
            const("obsess_over_services", "int", 0),
            const("obsess_over_hosts", "int", 0),
            const("check_service_freshness", "int", 1),
            const("check_host_freshness", "int", 0),
            const("check_external_commands", "int", 1),
            const("last_log_rotation", "time", 0),
            const("interval_length", "int", 60),
            const("cached_log_messages", "int", 0),
        ]
    )


def _group_counts(
    prefix: str, members: Callable[[Any], list[Status]], *, hard: bool = True
) -> list[Column]:
    def count(state: int | None, use_hard: bool = False) -> Callable[[Any], int]:
        def get(row: Any) -> int:
            sts = members(row)
            if state is None:
                return sum(1 for s in sts if not s.checked)
            if use_hard:
                return sum(1 for s in sts if s.checked and s.last_hard_state == state)
            return sum(1 for s in sts if s.checked and s.state == state)

        return get

    def worst(use_hard: bool) -> Callable[[Any], int]:
        def get(row: Any) -> int:
            states = [s.last_hard_state if use_hard else s.state for s in members(row)]
            return max(states, key=SERVICE_WEIGHT.__getitem__, default=0)

        return get

    names = ("ok", "warn", "crit", "unknown")
    out = [col(f"{prefix}", "int", lambda row: len(members(row)))]
    out.append(col(f"{prefix}_pending", "int", count(None)))
    out += [col(f"{prefix}_{n}", "int", count(i)) for i, n in enumerate(names)]
    if hard:
        out += [col(f"{prefix}_hard_{n}", "int", count(i, True)) for i, n in enumerate(names)]
    out.append(col("worst_service_state", "int", worst(False)))
    out.append(col("worst_service_hard_state", "int", worst(True)))
    return out


def _alias(data: SiteData, kind: str) -> Callable[[Any], str]:
    """A group row's alias: the one stored for it, else its name."""

    def get(row: Any) -> str:
        name: str = row[0]
        return data.group_aliases().get(kind, {}).get(name, name)

    return get


def _hostgroup_columns(data: SiteData) -> dict[str, Column]:
    def hosts(row: tuple[str, list[str]]) -> list[Status]:
        status = data.engine.status
        return [status[(h, "")] for h in row[1] if (h, "") in status]

    def services(row: tuple[str, list[str]]) -> list[Status]:
        status, per_host = data.engine.status, data.engine.host_services
        return [status[(h, s)] for h in row[1] for s in per_host.get(h, {}) if (h, s) in status]

    def host_count(state: int | None) -> Callable[[Any], int]:
        def get(row: Any) -> int:
            sts = hosts(row)
            if state is None:
                return sum(1 for s in sts if not s.checked)
            return sum(1 for s in sts if s.checked and s.state == state)

        return get

    return index(
        [
            col("name", "string", itemgetter(0)),
            col("alias", "string", _alias(data, "host")),
            const("notes", "string", ""),
            const("notes_url", "string", ""),
            const("action_url", "string", ""),
            col("members", "list", itemgetter(1)),
            col(
                "members_with_state",
                "list",
                lambda row: [(s.host, s.state, int(s.checked)) for s in hosts(row)],
            ),
            col("num_hosts", "int", lambda row: len(row[1])),
            col("num_hosts_pending", "int", host_count(None)),
            col("num_hosts_up", "int", host_count(0)),
            col("num_hosts_down", "int", host_count(1)),
            col("num_hosts_unreach", "int", host_count(2)),
            col(
                "worst_host_state",
                "int",
                lambda row: max((s.state for s in hosts(row)), default=0),
            ),
            *_group_counts("num_services", services),
        ]
    )


def _servicegroup_columns(data: SiteData) -> dict[str, Column]:
    def services(row: tuple[str, list[tuple[str, str]]]) -> list[Status]:
        status = data.engine.status
        return [status[k] for k in row[1] if k in status]

    return index(
        [
            col("name", "string", itemgetter(0)),
            col("alias", "string", _alias(data, "service")),
            const("notes", "string", ""),
            const("notes_url", "string", ""),
            const("action_url", "string", ""),
            col("members", "list", lambda row: list(row[1])),
            col(
                "members_with_state",
                "list",
                lambda row: [(s.host, s.service, s.state, int(s.checked)) for s in services(row)],
            ),
            *_group_counts("num_services", services),
        ]
    )


def _contact_columns() -> dict[str, Column]:
    return index(
        [
            col("name", "string", attrgetter("name")),
            col("alias", "string", attrgetter("name")),
            col("email", "string", attrgetter("email")),
            col("groups", "list", lambda c: list(c.groups)),
            const("pager", "string", ""),
            const("host_notifications_enabled", "int", 1),
            const("service_notifications_enabled", "int", 1),
            const("can_submit_commands", "int", 1),
            const("host_notification_period", "string", "24x7"),
            const("service_notification_period", "string", "24x7"),
            const("in_host_notification_period", "int", 1),
            const("in_service_notification_period", "int", 1),
            const("custom_variable_names", "list", ()),
            const("custom_variable_values", "list", ()),
            const("modified_attributes", "int", 0),
            const("modified_attributes_list", "list", ()),
        ]
    )


def _related(data: SiteData, hosts: dict[str, Column], services: dict[str, Column]) -> list[Column]:
    """``host_*`` and ``service_*`` columns of the object a comment or downtime is on."""
    return [
        *prefixed("host_", hosts.values(), lambda r: data.host_status(r.host)),
        *prefixed("service_", services.values(), lambda r: data.service_status(r.host, r.service)),
    ]


_COMMENT_KIND = {"user": 1, "downtime": 2, "flapping": 3, "ack": 4}


def _comment_columns(
    data: SiteData, hosts: dict[str, Column], services: dict[str, Column]
) -> dict[str, Column]:
    return index(
        [
            *_related(data, hosts, services),
            col("id", "int", attrgetter("id")),
            col("author", "string", attrgetter("author")),
            col("comment", "string", attrgetter("text")),
            col("entry_time", "time", lambda c: int(c.at)),
            col("entry_type", "int", lambda c: _COMMENT_KIND.get(c.kind, 1), "1 user, 4 ack"),
            col("type", "int", lambda c: 2 if c.service else 1, "1 host, 2 service"),
            col("is_service", "int", lambda c: int(bool(c.service))),
            col("persistent", "int", lambda c: int(c.persistent)),
            col("source", "int", lambda _c: 1, "1 external"),
            const("expires", "int", 0),
            const("expire_time", "time", 0),
            col("host_name", "string", attrgetter("host")),
            col("service_description", "string", attrgetter("service")),
        ]
    )


def _downtime_columns(
    data: SiteData, hosts: dict[str, Column], services: dict[str, Column]
) -> dict[str, Column]:
    return index(
        [
            *_related(data, hosts, services),
            col("id", "int", attrgetter("id")),
            col("author", "string", attrgetter("author")),
            col("comment", "string", attrgetter("comment")),
            col("entry_time", "time", lambda d: int(d.created_at)),
            col("start_time", "time", lambda d: int(d.start)),
            col("end_time", "time", lambda d: int(d.end)),
            col("fixed", "int", lambda d: int(d.fixed)),
            col(
                "duration",
                "int",
                lambda d: int(d.end - d.start if d.fixed else d.duration),
                "seconds",
            ),
            col("type", "int", lambda d: 2 if d.service else 1, "1 host, 2 service"),
            col("is_service", "int", lambda d: int(bool(d.service))),
            col("is_pending", "int", lambda d: int(d.started_at is None)),
            col("recurring", "int", lambda d: int(bool(d.recurrence))),
            const("triggered_by", "int", 0),
            col("host_name", "string", attrgetter("host")),
            col("service_description", "string", attrgetter("service")),
        ]
    )


def _pairs(
    data: SiteData, groups: Callable[[], dict[str, list[Any]]], of: Callable[[Any], Any]
) -> Callable[[], list[tuple[str, Status]]]:
    def rows() -> list[tuple[str, Status]]:
        out = []
        for name, members in groups().items():
            for m in members:
                st = of(m)
                if st is not None:
                    out.append((name, st))
        return out

    return rows


def _second(get: Getter) -> Getter:
    return lambda row: get(row[1])


def _by_group(prefix: str, group: dict[str, Column], obj: dict[str, Column]) -> dict[str, Column]:
    """Object columns of ``(group name, status)`` rows, plus the group's own as ``prefix*``."""
    own = [Column(c.name, c.kind, _second(c.get), c.description) for c in obj.values()]
    name_only = {k: v for k, v in group.items() if k in ("name", "alias")}
    grp = [
        Column(prefix + c.name, c.kind, lambda r: r[0], c.description) for c in name_only.values()
    ]
    return index([*own, *grp])


def build_tables(data: SiteData, fetch_log: Fetch) -> dict[str, Table]:
    """The tables of one site, built once (getters read the live state at query time)."""
    hosts = host_columns(data)
    services = service_columns(data, hosts)
    hostgroups = _hostgroup_columns(data)
    servicegroups = _servicegroup_columns(data)
    sees_object = lambda d, u, row: _sees(d, u, _object_of(d, row))  # noqa: E731
    tables = [
        Table("status", _status_columns(data), lambda: [data]),
        Table(
            "hosts",
            hosts,
            data.hosts,
            lambda d, u, st: _sees(d, u, st),
            lookup={"name": lambda h: [st] if (st := data.host_status(h)) else []},
        ),
        Table(
            "services",
            services,
            data.services,
            lambda d, u, st: _sees(d, u, st),
            lookup={"host_name": data.services_of},
        ),
        Table("hostgroups", hostgroups, lambda: list(data.host_groups().items())),
        Table("servicegroups", servicegroups, lambda: list(data.service_groups().items())),
        Table("contacts", _contact_columns(), lambda: list(data.contact_index().values())),
        Table(
            "contactgroups",
            index(
                [
                    col("name", "string", itemgetter(0)),
                    col("alias", "string", itemgetter(0)),
                    col("members", "list", itemgetter(1)),
                ]
            ),
            lambda: list(data.contact_groups().items()),
        ),
        Table(
            "comments",
            _comment_columns(data, hosts, services),
            lambda: sorted(data.engine.comments.values(), key=attrgetter("id")),
            sees_object,
        ),
        Table(
            "downtimes",
            _downtime_columns(data, hosts, services),
            lambda: sorted(data.engine.downtimes.values(), key=attrgetter("id")),
            sees_object,
        ),
        Table(
            "log",
            logrows.log_columns(data, hosts, services),
            list,
            lambda d, u, ev: _sees(d, u, d.engine.status.get((ev.host, ev.service))),
            fetch_log,
        ),
        Table(
            "timeperiods",
            index(
                [
                    col("name", "string", itemgetter(0)),
                    col("alias", "string", itemgetter(1)),
                    const("in", "int", 1, "Lookout has no time periods: always in"),
                ]
            ),
            lambda: [("24x7", "24 Hours A Day, 7 Days A Week")],
        ),
        Table(
            "commands",
            index([col("name", "string", itemgetter(0)), col("line", "string", itemgetter(1))]),
            lambda: sorted(data.commands().items()),
        ),
        Table(
            "hostsbygroup",
            _by_group("hostgroup_", hostgroups, hosts),
            _pairs(data, data.host_groups, data.host_status),
            lambda d, u, r: _sees(d, u, r[1]),
        ),
        Table(
            "servicesbygroup",
            _by_group("servicegroup_", servicegroups, services),
            _pairs(data, data.service_groups, lambda k: data.engine.status.get(k)),
            lambda d, u, r: _sees(d, u, r[1]),
        ),
        Table(
            "servicesbyhostgroup",
            _by_group("hostgroup_", hostgroups, services),
            _hosts_services(data),
            lambda d, u, r: _sees(d, u, r[1]),
        ),
    ]
    by_name = {t.name: t for t in tables}
    by_name["columns"] = Table("columns", _columns_columns(), lambda: _describe(by_name))
    return by_name


def _hosts_services(data: SiteData) -> Callable[[], list[tuple[str, Status]]]:
    def rows() -> list[tuple[str, Status]]:
        status, per_host = data.engine.status, data.engine.host_services
        return [
            (g, status[(h, s)])
            for g, members in data.host_groups().items()
            for h in members
            for s in per_host.get(h, {})
            if (h, s) in status
        ]

    return rows


def _columns_columns() -> dict[str, Column]:
    return index(
        [
            col("table", "string", itemgetter(0)),
            col("name", "string", itemgetter(1)),
            col("type", "string", itemgetter(2)),
            col("description", "string", itemgetter(3)),
        ]
    )


def _describe(tables: dict[str, Table]) -> list[tuple[str, str, str, str]]:
    return [
        (t.name, c.name, c.type_name, c.description)
        for t in tables.values()
        for c in t.columns.values()
    ]

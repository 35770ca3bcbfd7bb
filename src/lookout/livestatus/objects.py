"""The ``hosts`` and ``services`` tables: Lookout's statuses under Nagios column names.

Rows are the engine's :class:`~lookout.engine.status.Status` objects; getters read them
without copying. Value conventions are Nagios's: states as numbers (hosts 0 UP, 1 DOWN,
2 UNREACHABLE; services 0 OK … 3 UNKNOWN), ``state_type`` 1 hard / 0 soft, booleans 0/1,
times as Unix seconds (0: never), intervals in minutes (``interval_length`` 60).
"""

from __future__ import annotations

import re
from operator import attrgetter
from typing import Any

from lookout.domain.metrics import Metric
from lookout.domain.perfdata import format_perfdata
from lookout.engine.status import Status
from lookout.errors import PerfdataError
from lookout.livestatus.columns import Column, Getter, attr, col, const, index, prefixed
from lookout.livestatus.data import SiteData, split_list

SERVICE_WEIGHT = (0, 1, 3, 2)
"""Badness of service states 0..3 for ``worst_service_state`` (OK < WARN < UNKNOWN < CRIT)."""


_PLAIN = re.compile(r"[A-Za-z0-9_./:\-]+").fullmatch
_PLAIN_UNIT = re.compile(r"(?![eE])[A-Za-z%]+").fullmatch
"""Labels and units written as they are; anything else goes through the full formatter."""


def _num(x: float | None) -> str:
    if x is None:
        return ""
    return str(int(x)) if x.is_integer() and -1e15 < x < 1e15 else repr(x)


def _perf_text(metrics: tuple[Metric, ...]) -> str:
    return " ".join(_one(m) for m in metrics)


def _one(m: Metric) -> str:
    if not _PLAIN(m.name) or (m.unit and not _PLAIN_UNIT(m.unit)):
        try:
            return format_perfdata((m,))
        except PerfdataError:  # a label no perfdata text can carry: left out
            return ""
    value = _num(m.value) + m.unit
    return f"{m.name}={value};{_num(m.warn)};{_num(m.crit)};{_num(m.min)};{_num(m.max)}".rstrip(";")


def perf_data(data: SiteData) -> Getter:
    """The perfdata text of an object's metrics, kept per object until its metrics change
    (a query reads every service's; most have not changed since the last one)."""
    cache: dict[tuple[str, str], tuple[tuple[Metric, ...], str]] = data.perf_cache

    def get(st: Status) -> str:
        metrics = st.metrics
        if not metrics:
            return ""
        hit = cache.get((st.host, st.service))
        if hit is not None and hit[0] is metrics:
            return hit[1]
        text = _perf_text(metrics)
        cache[(st.host, st.service)] = (metrics, text)
        return text

    return get


def _check_command(st: Status) -> str:
    check = st.cfg.check if st.cfg is not None else None
    if not check:
        return ""
    if check.get("type") == "nagios":
        return "!".join([str(check.get("command", "")), *map(str, check.get("args", ()))])
    return str(check.get("type", ""))


def _active(st: Status) -> int:
    return int(st.cfg is not None and st.cfg.check is not None)


def _interval(field: str) -> Any:
    def get(st: Status) -> float:
        return getattr(st.cfg, field, 60.0) / 60.0 if st.cfg is not None else 1.0

    return get


def _next_check(st: Status) -> int:
    if st.cfg is None or st.cfg.check is None:
        return 0
    wait = st.cfg.retry_interval if (st.state and not st.hard) else st.cfg.check_interval
    return int(st.last_check + wait) if st.checked else 0


def _last_time(state: int) -> Any:
    def get(st: Status) -> int:
        if state == 0:
            return int(st.last_ok)
        return int(st.last_check) if st.state == state and st.checked else 0

    return get


def _is_set(value: object) -> int:
    return int(value is not None)


def _ack_type(st: Status) -> int:
    if st.ack is None:
        return 0
    return 2 if st.ack.sticky else 1


def _labels(st: Status) -> dict[str, str]:
    return st.cfg.labels if st.cfg is not None else {}


def _label(name: str) -> Any:
    return lambda st: _labels(st).get(name, "")


def _event_handler(st: Status) -> str:
    handler = st.cfg.event_handler if st.cfg is not None else None
    return str(handler.get("command", "")) if handler else ""


def common_columns(data: SiteData) -> list[Column]:
    """Columns hosts and services share (same name, same meaning)."""
    return [
        attr("state", "int", "state"),
        attr("state_type", "int", "hard", int),
        attr("hard_state", "int", "last_hard_state"),
        attr("last_hard_state", "int", "last_hard_state"),
        attr("has_been_checked", "int", "checked", int),
        attr("acknowledged", "int", "ack", _is_set),
        col("acknowledgement_type", "int", _ack_type, "0 none, 1 normal, 2 sticky"),
        attr("scheduled_downtime_depth", "int", "downtime_depth"),
        col("last_check", "time", lambda st: int(st.last_check)),
        col("last_state_change", "time", lambda st: int(st.last_state_change) if st.checked else 0),
        col(
            "last_hard_state_change",
            "time",
            lambda st: int(st.last_hard_state_change) if st.checked else 0,
        ),
        col("next_check", "time", _next_check),
        attr("plugin_output", "string", "summary"),
        attr("long_plugin_output", "string", "long_output"),
        col("perf_data", "string", perf_data(data)),
        attr("current_attempt", "int", "attempt"),
        col("max_check_attempts", "int", lambda st: getattr(st.cfg, "max_check_attempts", 1)),
        col("max_attempts", "int", lambda st: getattr(st.cfg, "max_check_attempts", 1)),
        col("check_interval", "float", _interval("check_interval"), "minutes"),
        col("retry_interval", "float", _interval("retry_interval"), "minutes"),
        attr("is_flapping", "int", "flapping", int),
        attr("percent_state_change", "float", "percent_state_change"),
        col("active_checks_enabled", "int", _active),
        col("checks_enabled", "int", _active),
        col("check_type", "int", lambda st: 1 - _active(st), "0 active, 1 passive"),
        col("check_command", "string", _check_command),
        col("check_command_expanded", "string", _check_command),
        col("event_handler", "string", _event_handler),
        col("is_problem", "int", lambda st: int(st.state != 0)),
        col("staleness", "float", lambda st: 1.5 if st.stale else 0.0),
        col("comments", "list", lambda st: data.comments_of((st.host, st.service))),
        col("downtimes", "list", lambda st: data.downtimes_of((st.host, st.service))),
        col(
            "contact_groups",
            "list",
            lambda st: split_list(_labels(st).get("contact_groups", "")),
        ),
        col(
            "contacts",
            "list",
            lambda st: data.members(split_list(_labels(st).get("contact_groups", ""))),
        ),
        col("custom_variable_names", "list", lambda st: list(_labels(st))),
        col("custom_variable_values", "list", lambda st: list(_labels(st).values())),
        col("custom_variables", "list", lambda st: list(_labels(st).items())),
        col("notes", "string", _label("notes")),
        col("notes_expanded", "string", _label("notes")),
        col("notes_url", "string", _label("notes_url")),
        col("notes_url_expanded", "string", _label("notes_url")),
        col("action_url", "string", _label("action_url")),
        col("action_url_expanded", "string", _label("action_url")),
        col("icon_image", "string", _label("icon_image")),
        col("icon_image_expanded", "string", _label("icon_image")),
        col("icon_image_alt", "string", _label("icon_image_alt")),
        const("accept_passive_checks", "int", 1),
        const("notifications_enabled", "int", 1),
        const("event_handler_enabled", "int", int(data.event_handlers)),
        const("flap_detection_enabled", "int", int(data.flap_detection)),
        const("process_performance_data", "int", 1),
        const("obsess_over_host", "int", 0),
        const("obsess_over_service", "int", 0),
        const("check_freshness", "int", 0),
        const("check_options", "int", 0),
        const("in_check_period", "int", 1),
        const("in_notification_period", "int", 1),
        const("in_service_period", "int", 1),
        const("check_period", "string", "24x7"),
        const("notification_period", "string", "24x7"),
        const("service_period", "string", ""),
        const("latency", "float", 0.0),
        const("execution_time", "float", 0.0),
        const("is_executing", "int", 0),
        const("pending_flex_downtime", "int", 0),
        const("last_notification", "time", 0),
        const("next_notification", "time", 0),
        const("current_notification_number", "int", 0),
        const("first_notification_delay", "float", 0.0),
        const("notification_interval", "float", 0.0),
        const("low_flap_threshold", "float", 0.0),
        const("high_flap_threshold", "float", 0.0),
        const("modified_attributes", "int", 0),
        const("modified_attributes_list", "list", ()),
        const("initial_state", "int", 0),
        const("filename", "string", ""),
        const("statusmap_image", "string", ""),
        const("is_volatile", "int", 0),
        const("obsess", "int", 0),
    ]


def _services_of(data: SiteData, host: str) -> list[Status]:
    status = data.engine.status
    names = data.engine.host_services.get(host, {})
    return [status[(host, n)] for n in names if (host, n) in status]


def _count(data: SiteData, state: int | None, *, hard: bool = False) -> Any:
    """A host's services in ``state`` (None: pending; hard: by last hard state)."""

    def get(st: Status) -> int:
        services = _services_of(data, st.host)
        if state is None:
            return sum(1 for s in services if not s.checked)
        if hard:
            return sum(1 for s in services if s.checked and s.last_hard_state == state)
        return sum(1 for s in services if s.checked and s.state == state)

    return get


def _worst(data: SiteData, *, hard: bool = False) -> Any:
    def get(st: Status) -> int:
        states = [s.last_hard_state if hard else s.state for s in _services_of(data, st.host)]
        return max(states, key=SERVICE_WEIGHT.__getitem__, default=0)

    return get


def host_columns(data: SiteData) -> dict[str, Column]:
    def services(st: Status) -> list[str]:
        return list(data.engine.host_services.get(st.host, {}))

    def with_state(st: Status) -> list[tuple[str, int, int]]:
        return [(s.service, s.state, int(s.checked)) for s in _services_of(data, st.host)]

    def with_info(st: Status) -> list[tuple[str, int, int, str]]:
        return [
            (s.service, s.state, int(s.checked), s.summary) for s in _services_of(data, st.host)
        ]

    own = [
        attr("name", "string", "host"),
        attr("host_name", "string", "host"),
        attr("display_name", "string", "host"),
        col("alias", "string", lambda st: _labels(st).get("alias") or st.host),
        col("address", "string", lambda st: getattr(st.cfg, "address", "") or st.host),
        col("groups", "list", lambda st: list(getattr(st.cfg, "groups", ()))),
        col("parents", "list", lambda st: list(getattr(st.cfg, "parents", ()))),
        col("childs", "list", lambda st: data.children_of(st.host)),
        col("last_time_up", "time", _last_time(0)),
        col("last_time_down", "time", _last_time(1)),
        col("last_time_unreachable", "time", _last_time(2)),
        col("services", "list", services),
        col("services_with_state", "list", with_state),
        col("services_with_info", "list", with_info),
        col("num_services", "int", lambda st: len(data.engine.host_services.get(st.host, {}))),
        col("total_services", "int", lambda st: len(data.engine.host_services.get(st.host, {}))),
        col("num_services_pending", "int", _count(data, None)),
        col("num_services_ok", "int", _count(data, 0)),
        col("num_services_warn", "int", _count(data, 1)),
        col("num_services_crit", "int", _count(data, 2)),
        col("num_services_unknown", "int", _count(data, 3)),
        col("num_services_hard_ok", "int", _count(data, 0, hard=True)),
        col("num_services_hard_warn", "int", _count(data, 1, hard=True)),
        col("num_services_hard_crit", "int", _count(data, 2, hard=True)),
        col("num_services_hard_unknown", "int", _count(data, 3, hard=True)),
        col("worst_service_state", "int", _worst(data)),
        col("worst_service_hard_state", "int", _worst(data, hard=True)),
    ]
    return index([*common_columns(data), *own])


def service_columns(data: SiteData, hosts: dict[str, Column]) -> dict[str, Column]:
    own = [
        attr("description", "string", "service"),
        attr("display_name", "string", "service"),
        attr("host_name", "string", "host"),
        col(
            "groups",
            "list",
            lambda st: split_list(_labels(st).get("service_groups", "")),
        ),
        col("last_time_ok", "time", _last_time(0)),
        col("last_time_warning", "time", _last_time(1)),
        col("last_time_critical", "time", _last_time(2)),
        col("last_time_unknown", "time", _last_time(3)),
        attr("stale", "int", "stale", int),
    ]
    host_of = prefixed("host_", hosts.values(), attrgetter("host_status"), "host_status")
    return index([*host_of, *common_columns(data), *own])

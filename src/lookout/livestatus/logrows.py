"""The ``log`` table: Lookout's event log written as Nagios log lines.

State changes become ``HOST ALERT`` / ``SERVICE ALERT`` (class 1) with Nagios's state names,
downtimes and flapping their ``… DOWNTIME ALERT`` / ``… FLAPPING ALERT`` lines, operator
actions ``EXTERNAL COMMAND`` lines (class 5); everything else is an informational line
(class 0) naming the Lookout event type.
"""

from __future__ import annotations

from operator import attrgetter

from lookout.domain.events import Event, EventType
from lookout.livestatus.columns import Column, col, index, prefixed
from lookout.livestatus.data import SiteData

HOST_STATES = ("UP", "DOWN", "UNREACHABLE")
SERVICE_STATES = ("OK", "WARNING", "CRITICAL", "UNKNOWN")

_PHASE = {
    EventType.DOWNTIME_START: ("DOWNTIME ALERT", "STARTED"),
    EventType.DOWNTIME_END: ("DOWNTIME ALERT", "STOPPED"),
    EventType.DOWNTIME_CANCEL: ("DOWNTIME ALERT", "CANCELLED"),
    EventType.FLAPPING_START: ("FLAPPING ALERT", "STARTED"),
    EventType.FLAPPING_STOP: ("FLAPPING ALERT", "STOPPED"),
}
_COMMANDS = {
    EventType.ACK_SET: "ACKNOWLEDGE_{}_PROBLEM",
    EventType.ACK_REMOVED: "REMOVE_{}_ACKNOWLEDGEMENT",
    EventType.DOWNTIME_SCHEDULED: "SCHEDULE_{}_DOWNTIME",
    EventType.COMMENT: "ADD_{}_COMMENT",
    EventType.COMMENT_REMOVED: "DEL_{}_COMMENT",
    EventType.RECHECK: "SCHEDULE_FORCED_{}_CHECK",
}


def state_name(ev: Event) -> str:
    names = SERVICE_STATES if ev.service else HOST_STATES
    state = ev.state if ev.state is not None else 0
    return names[state] if 0 <= state < len(names) else str(state)


def _who(ev: Event) -> str:
    return f"{ev.host};{ev.service}" if ev.service else ev.host


def line(ev: Event) -> tuple[int, str, str]:
    """``(class, type, options)`` of an event; the message is ``type: options``."""
    kind = "SERVICE" if ev.service else "HOST"
    if ev.type is EventType.STATE_CHANGE:
        hard = (ev.state_type or "hard").upper()
        opts = f"{_who(ev)};{state_name(ev)};{hard};{ev.attempt or 1};{ev.summary}"
        return 1, f"{kind} ALERT", opts
    if ev.type in _PHASE:
        what, phase = _PHASE[ev.type]
        return 1, f"{kind} {what}", f"{_who(ev)};{phase}; {ev.comment or ev.summary}"
    if ev.type in _COMMANDS:
        name = _COMMANDS[ev.type].format("SVC" if ev.service else "HOST")
        return 5, "EXTERNAL COMMAND", f"{name};{_who(ev)};{ev.author};{ev.comment}"
    return 0, f"LOOKOUT {ev.type.upper()}", f"{_who(ev)};{ev.summary or ev.comment}"


def log_columns(
    data: SiteData, hosts: dict[str, Column], services: dict[str, Column]
) -> dict[str, Column]:
    def message(ev: Event) -> str:
        _cls, kind, opts = line(ev)
        return f"{kind}: {opts}"

    return index(
        [
            *prefixed("current_host_", hosts.values(), lambda ev: data.host_status(ev.host)),
            *prefixed(
                "current_service_",
                services.values(),
                lambda ev: data.service_status(ev.host, ev.service),
            ),
            col("time", "time", lambda ev: int(ev.at)),
            col("lineno", "int", attrgetter("id")),
            col("class", "int", lambda ev: line(ev)[0], "0 info, 1 alert, 5 command"),
            col("type", "string", lambda ev: line(ev)[1]),
            col("options", "string", lambda ev: line(ev)[2]),
            col("message", "string", message),
            col("state", "int", lambda ev: ev.state or 0),
            col(
                "state_type",
                "string",
                lambda ev: (ev.state_type or "").upper() if ev.state is not None else "",
            ),
            col("attempt", "int", lambda ev: ev.attempt or 0),
            col("host_name", "string", attrgetter("host")),
            col("service_description", "string", attrgetter("service")),
            col("plugin_output", "string", attrgetter("summary")),
            col("comment", "string", attrgetter("comment")),
            col("contact_name", "string", attrgetter("author")),
            col(
                "command_name",
                "string",
                lambda ev: _COMMANDS.get(ev.type, "").format("SVC" if ev.service else "HOST"),
            ),
        ]
    )

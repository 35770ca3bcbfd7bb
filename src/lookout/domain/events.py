"""Events: things that happened, in the order the engine applied them."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import msgspec


class EventType(StrEnum):
    STATE_CHANGE = "state_change"
    ACK_SET = "ack_set"
    ACK_REMOVED = "ack_removed"
    DOWNTIME_SCHEDULED = "downtime_scheduled"
    DOWNTIME_START = "downtime_start"
    DOWNTIME_END = "downtime_end"
    DOWNTIME_CANCEL = "downtime_cancel"
    FLAPPING_START = "flapping_start"
    FLAPPING_STOP = "flapping_stop"
    COMMENT = "comment"
    COMMENT_REMOVED = "comment_removed"
    """A comment was deleted (``data.comment_id``; ``comment``: its text)."""
    RECHECK = "recheck"
    EVENT_HANDLER = "event_handler"
    """An event handler ran (``data``: command, exit_code, signal, output, elapsed, error,
    and the state it ran for)."""
    QUARANTINE = "quarantine"
    """An input or stored value the site could not use was set aside (``data``: source,
    reason, what it was); the site went on without it."""


class Event(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One entry of the event log. ``service == ""`` for host events.

    For state changes ``data`` carries ``old_state``, ``old_hard``, ``hard_change`` (the hard
    state changed: a notification candidate), ``host_problem`` (the host was not UP) and
    ``notify`` (hard change, not acknowledged, not in downtime, host up, not flapping):
    the "notification to come" that the notifier consumes."""

    id: int
    at: float
    type: EventType
    host: str
    service: str = ""
    state: int | None = None
    state_type: str | None = None
    attempt: int | None = None
    summary: str = ""
    author: str = ""
    comment: str = ""
    data: dict[str, Any] = msgspec.field(default_factory=dict)

"""How people handle problems: acknowledgements, downtimes, comments."""

from __future__ import annotations

import msgspec


class Ack(msgspec.Struct, frozen=True, kw_only=True):
    """An acknowledgement. Non-sticky: cleared on any state change; sticky: kept until OK.
    Always cleared on recovery or at ``expire_at``. ``comment_id`` is the comment it created."""

    author: str
    comment: str
    sticky: bool = True
    notify: bool = True
    persistent: bool = False
    expire_at: float | None = None
    set_at: float = 0.0
    comment_id: int = 0


class Downtime(msgspec.Struct, kw_only=True):
    """Planned maintenance on a host (optionally with all its services) or one service.

    Fixed: active from ``start`` to ``end``. Flexible: may start at the first problem inside
    [start, end] and then lasts ``duration`` seconds. ``recurrence`` (cron expression) makes it
    come back: when an occurrence ends, start/end move to the next occurrence."""

    id: int
    host: str
    service: str = ""
    start: float
    end: float
    fixed: bool = True
    duration: float = 0.0
    include_services: bool = False
    recurrence: str = ""
    author: str = ""
    comment: str = ""
    created_at: float = 0.0
    started_at: float | None = None

    def covers(self, host: str, service: str) -> bool:
        if host != self.host:
            return False
        if self.service:
            return service == self.service
        return service == "" or self.include_services

    @property
    def active_until(self) -> float:
        """When the current occurrence ends (flexible: trigger + duration, capped by nothing)."""
        if self.started_at is None:
            return self.end
        return self.end if self.fixed else self.started_at + self.duration


class Comment(msgspec.Struct, frozen=True, kw_only=True):
    """A note on a host or service. ``kind``: user, ack, downtime."""

    id: int
    host: str
    service: str
    at: float
    author: str
    text: str
    kind: str = "user"
    persistent: bool = True

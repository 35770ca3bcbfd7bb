"""What travels from the rules to the channels: notifications and outgoing messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec


class Notification(msgspec.Struct, frozen=True, kw_only=True):
    """One thing to tell someone, rendered by each channel in its own way."""

    kind: str
    host: str
    service: str = ""
    state: str = ""
    """State name (CRIT, DOWN, …); empty when the event has none."""
    state_type: str = ""
    summary: str = ""
    at: float
    """When it happened."""
    since: float = 0.0
    """Since when the object is in this state."""
    author: str = ""
    comment: str = ""
    number: int = 0
    """Notification number of the problem (1 = first, 2 = first repeat, …)."""
    event_id: int = 0
    url: str = ""
    """Link to the object in the UI."""
    site: str = ""
    extra: dict[str, Any] = msgspec.field(default_factory=dict)

    @property
    def object(self) -> str:
        return f"{self.host}/{self.service}" if self.service else self.host


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message a channel sends: one notification, or a bundle of problems."""

    recipient: str
    notes: list[Notification]
    keys: list[str]
    """Idempotency keys of the deliveries it carries."""
    cap: int = 20
    """Most notifications a bundle lists; the rest are counted ("… and 287 more")."""
    ids: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.notes)

    @property
    def bundled(self) -> bool:
        return len(self.notes) > 1

    @property
    def listed(self) -> list[Notification]:
        return self.notes[: self.cap]


@dataclass(frozen=True, slots=True)
class Sent:
    """What a channel reports after a successful send."""

    external_id: str = ""
    """The message id at the other end (Zulip message id), if any."""

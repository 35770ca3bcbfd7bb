"""Whether each channel delivers: failing since when and why (for logs, self-monitoring and
the probes that end an outage's backoff early).

A channel is *failing* from its first temporary failure (cannot connect, 5xx, 429) until a
delivery goes out again. The outage is logged at WARNING once when it starts and once when it
ends; single retries are logged at INFO.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol, runtime_checkable

log = logging.getLogger("lookout.notify.dispatcher")

PROBE_EVERY = 10.0
"""Seconds between probes of a failing channel whose deliveries wait longer than that."""


@runtime_checkable
class Probing(Protocol):
    """A channel that can tell cheaply whether its server answers (raises if it does not)."""

    async def probe(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ChannelHealth:
    channel: str
    failing_since: float | None = None
    """When the current outage began (None: the channel delivers)."""
    error: str = ""
    """The latest failure."""
    failures: int = 0
    """Failed attempts in the current outage."""
    since: float = 0.0
    """When the state last changed."""

    @property
    def failing(self) -> bool:
        return self.failing_since is not None


class HealthBook:
    """The health of every channel; listeners hear of each change of failing/delivering."""

    def __init__(self) -> None:
        self.channels: dict[str, ChannelHealth] = {}
        self.listeners: list[Callable[[ChannelHealth], None]] = []

    def get(self, channel: str) -> ChannelHealth:
        return self.channels.get(channel) or ChannelHealth(channel)

    def failed(self, channel: str, error: str, now: float) -> bool:
        """A temporary failure; True when it starts an outage."""
        h = self.get(channel)
        starts = not h.failing
        if starts:
            log.warning(
                "channel %s is failing: %s; its deliveries wait and are retried", channel, error
            )
            h = replace(h, failing_since=now, since=now, failures=0)
        self.channels[channel] = replace(h, error=error, failures=h.failures + 1)
        if starts:
            self._tell(self.channels[channel])
        return starts

    def delivered(self, channel: str, now: float) -> None:
        h = self.channels.get(channel)
        if h is None or not h.failing:
            return
        assert h.failing_since is not None
        log.warning(
            "channel %s delivers again after %.0f s (%d failed attempts; last: %s)",
            channel,
            now - h.failing_since,
            h.failures,
            h.error,
        )
        self.channels[channel] = ChannelHealth(channel, since=now)
        self._tell(replace(h, failing_since=None, since=now))

    def _tell(self, h: ChannelHealth) -> None:
        for listener in self.listeners:
            try:
                listener(h)
            except Exception:  # a listener must not break deliveries
                log.exception("channel health listener failed")

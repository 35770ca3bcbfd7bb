"""The channel contract: told what to send; translates its own failures.

``send`` raises :class:`~lookout.errors.TemporaryFailure` (retry, maybe after
``retry_after``) or :class:`~lookout.errors.PermanentFailure` (give up, keep the reason).
Retries, backoff, rate limits and "never twice" belong to the dispatcher.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from lookout.notify.clock import Clock
from lookout.notify.model import Outgoing, Sent
from lookout.notify.ratelimit import RateLimiter
from lookout.notify.store import NotifyStore


class ChannelDriver(Protocol):
    name: str
    ordered: bool
    """Deliveries of one recipient must go out in order (one at a time)."""
    parallel: int
    """Sends in flight at once when order does not matter."""
    limiter: RateLimiter

    async def send(self, msg: Outgoing) -> Sent: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ChannelContext:
    store: NotifyStore
    clock: Clock
    site_name: str = "lookout"
    ui_url: Callable[[str, str], str] | None = None
    site_url: str = ""
    """The site's public URL (links to its pages), empty when not configured."""

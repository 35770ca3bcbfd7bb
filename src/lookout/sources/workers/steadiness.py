"""Whether the site's view of a pool's consumer can be trusted to say "no worker took this job".

The site decides that from the consumer's last delivered sequence. Right after a JetStream
leader change (a server of the cluster lost) that number can be behind (the new leader's copy
of the consumer state lags the old one's) or unreadable for a while, and workers may still be
reconnecting; after the site itself stalled (a loaded machine), the queue it sees is one its
workers had no CPU to take. So a view is *steady* only once the consumer has answered, with
the same leader and without its delivered sequence going back, for ``settle`` seconds. The
first view the site ever has counts as steady: there was nothing for it to change from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ConsumerView:
    """One read of a pool consumer's state."""

    delivered: int
    """The last job sequence it handed to a worker."""
    waiting: int
    """Jobs it has not handed out yet."""
    leader: str
    """The server that answered for it ('' when not clustered or not said)."""


@dataclass(slots=True)
class _Seen:
    leader: str | None = None
    delivered: int = 0
    steady_since: float | None = -math.inf
    """None: the last read failed (steadiness starts again at the next one that works)."""


class Steadiness:
    """Per pool: since when the view of its consumer has been steady (see the module)."""

    def __init__(self, settle: float) -> None:
        self.settle = settle
        self._pools: dict[str, _Seen] = {}

    def saw(self, pool: str, view: ConsumerView | None, now: float) -> bool:
        """Note a read of ``pool``'s consumer (None: it failed); whether the view is steady."""
        seen = self._pools.setdefault(pool, _Seen())
        if view is None:
            seen.steady_since = None
            return False
        changed = seen.leader is not None and view.leader != seen.leader
        if seen.steady_since is None or changed or view.delivered < seen.delivered:
            seen.steady_since = now
        seen.leader, seen.delivered = view.leader, view.delivered
        return now - seen.steady_since >= self.settle

    def shaken(self, now: float) -> None:
        """Every view starts again from ``now`` (the site did not run for a while)."""
        for seen in self._pools.values():
            if seen.steady_since is not None:
                seen.steady_since = now

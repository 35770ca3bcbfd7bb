"""What the Livestatus tables read: the engine's live state and a few site facts.

Built by the site (``sites/livestatus.py``) from its parts, so this package needs no import of
the site. Per-query indexes (comments by object, a host's children, group members) are built
on first use and dropped by :meth:`SiteData.fresh` before each query: a query sees one state.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from lookout.actions import Actions
from lookout.domain.events import Event
from lookout.engine.core import Engine
from lookout.engine.status import Status

Key = tuple[str, str]


@dataclass(frozen=True, slots=True)
class ContactInfo:
    name: str
    email: str = ""
    groups: tuple[str, ...] = ()


@dataclass(slots=True)
class Counters:
    connections: int = 0
    requests: int = 0
    commands: int = 0
    errors: int = 0


@dataclass(slots=True)
class SiteData:
    engine: Engine
    actions: Actions
    clock: Callable[[], float]
    started_at: float
    version: str
    site_name: str = "lookout"
    recent_events: Callable[[], list[Event]] = list
    stored_events: Callable[[float | None, float | None, int], list[Event]] = lambda _s, _e, _n: []
    """``(start, end, limit)`` → events from the database, newest first (blocking: called in a
    thread)."""
    contacts: Callable[[], Sequence[ContactInfo]] = tuple
    commands: Callable[[], dict[str, str]] = dict
    """Command name → command line."""
    group_aliases: Callable[[], dict[str, dict[str, str]]] = dict
    """``{"host"|"service": {group: alias}}``."""
    flap_detection: bool = True
    event_handlers: bool = True
    counters: Counters = field(default_factory=Counters)
    perf_cache: dict[Key, Any] = field(default_factory=dict)
    """Perfdata text per object, with the metrics it was made from (``objects.perf_data``)."""
    stats_reuse: float = 1.0
    """Seconds a ``Stats`` answer may be given again (0: never); see ``execute``."""
    _cache: dict[str, Any] = field(default_factory=dict)
    _answers: dict[Any, tuple[float, int, bytes]] = field(default_factory=dict)
    counting: dict[Any, tuple[int, asyncio.Future[bytes]]] = field(default_factory=dict)
    """``Stats`` answers being counted (by query), with the ``changes`` they started at: a
    second client asking the same waits for that count instead of counting again."""

    def fresh(self) -> None:
        """Forget the per-query indexes (call before each query)."""
        self._cache.clear()
        if len(self.perf_cache) > 2 * len(self.engine.status) + 1000:
            self.perf_cache.clear()  # objects were removed: start again

    # ------------------------------------------------------------------ answers
    def reused(self, key: Any) -> bytes | None:
        """The answer kept for ``key``, if it is younger than ``stats_reuse`` and no action or
        configuration change happened since it was made."""
        kept = self._answers.get(key)
        if kept is None:
            return None
        made, changes, body = kept
        if changes != self.engine.counters.changes or time.monotonic() - made > self.stats_reuse:
            del self._answers[key]
            return None
        return body

    def keep(self, key: Any, body: bytes, changes: int, made: float) -> None:
        """Keep an answer made at ``made`` (monotonic) when the engine's ``changes`` counter
        read ``changes``."""
        if self.stats_reuse <= 0:
            return
        if len(self._answers) >= MAX_KEPT_ANSWERS:
            self._answers.pop(next(iter(self._answers)))
        self._answers[key] = (made, changes, body)

    def _cached(self, name: str, build: Callable[[], Any]) -> Any:
        value = self._cache.get(name)
        if value is None:
            value = self._cache[name] = build()
        return value

    # ------------------------------------------------------------------ rows
    def hosts(self) -> list[Status]:
        status = self.engine.status
        return [status[(h, "")] for h in self.engine.hosts if (h, "") in status]

    def services(self) -> Iterator[Status]:
        """Every service's status, lazily (C-level iteration: no Python frame per row)."""
        return filter(_is_service, self.engine.status.values())

    def services_of(self, host: str) -> list[Status]:
        status = self.engine.status
        return [
            status[(host, s)]
            for s in self.engine.host_services.get(host, ())
            if (host, s) in status
        ]

    def host_status(self, name: str) -> Status | None:
        return self.engine.status.get((name, ""))

    def service_status(self, host: str, service: str) -> Status | None:
        if not service:
            return None
        return self.engine.status.get((host, service))

    # ------------------------------------------------------------------ indexes
    def comments_of(self, key: Key) -> list[int]:
        idx: dict[Key, list[int]] = self._cached("comments", self._comment_index)
        return idx.get(key, [])

    def _comment_index(self) -> dict[Key, list[int]]:
        idx: dict[Key, list[int]] = defaultdict(list)
        for c in self.engine.comments.values():
            idx[(c.host, c.service)].append(c.id)
        return idx

    def downtimes_of(self, key: Key) -> list[int]:
        idx: dict[Key, list[int]] = self._cached("downtimes", self._downtime_index)
        return idx.get(key, [])

    def _downtime_index(self) -> dict[Key, list[int]]:
        idx: dict[Key, list[int]] = defaultdict(list)
        for d in self.engine.downtimes.values():
            idx[(d.host, d.service)].append(d.id)
        return idx

    def children_of(self, host: str) -> list[str]:
        idx: dict[str, list[str]] = self._cached("children", self._children_index)
        return idx.get(host, [])

    def _children_index(self) -> dict[str, list[str]]:
        idx: dict[str, list[str]] = defaultdict(list)
        for h in self.engine.hosts.values():
            for p in h.parents:
                idx[p].append(h.name)
        return idx

    def host_groups(self) -> dict[str, list[str]]:
        """Host group → member host names (groups exist through their members)."""

        def build() -> dict[str, list[str]]:
            idx: dict[str, list[str]] = defaultdict(list)
            for h in self.engine.hosts.values():
                for g in h.groups:
                    idx[g].append(h.name)
            return dict(sorted(idx.items()))

        groups: dict[str, list[str]] = self._cached("hostgroups", build)
        return groups

    def service_groups(self) -> dict[str, list[Key]]:
        """Service group → member (host, service) keys, from the ``service_groups`` label."""

        def build() -> dict[str, list[Key]]:
            idx: dict[str, list[Key]] = defaultdict(list)
            for key, cfg in self.engine.services.items():
                for g in split_list(cfg.labels.get("service_groups", "")):
                    idx[g].append(key)
            return dict(sorted(idx.items()))

        groups: dict[str, list[Key]] = self._cached("servicegroups", build)
        return groups

    def contact_index(self) -> dict[str, ContactInfo]:
        index: dict[str, ContactInfo] = self._cached(
            "contacts", lambda: {c.name: c for c in self.contacts()}
        )
        return index

    def contact_groups(self) -> dict[str, list[str]]:
        def build() -> dict[str, list[str]]:
            idx: dict[str, list[str]] = defaultdict(list)
            for c in self.contact_index().values():
                for g in c.groups:
                    idx[g].append(c.name)
            return dict(sorted(idx.items()))

        groups: dict[str, list[str]] = self._cached("contactgroups", build)
        return groups

    def members(self, groups: Sequence[str]) -> list[str]:
        """The contacts of ``groups``, each once, in order."""
        cg = self.contact_groups()
        return list(dict.fromkeys(m for g in groups for m in cg.get(g, ())))


_is_service = attrgetter("service")
MAX_KEPT_ANSWERS = 256
"""``Stats`` answers kept at most (the oldest goes first)."""


def split_list(text: str) -> list[str]:
    """A comma-separated label value as a list (``"a, b"`` → ``["a", "b"]``)."""
    return [part.strip() for part in text.split(",") if part.strip()]

"""A cluster's remembered state, between its monitor and mapper and the site's database:
the checks' :class:`~lookout.checks.kube.memory.Memory` (since-when timers, restart counters,
readiness changes, fill trends) and the mapper's grace timers of vanished objects. Saved
after every evaluation, restored before the first one, so a restart changes no verdict."""

from __future__ import annotations

import logging

import msgspec

from lookout.checks.kube.memory import Memory
from lookout.sources.kube.mapping import Mapper
from lookout.sources.kube.monitor import ClusterMonitor
from lookout.storage.kube import SavedState

log = logging.getLogger(__name__)


def snapshot(monitor: ClusterMonitor, mapper: Mapper, now: float) -> SavedState:
    """Call between evaluations (the monitor's memory changes only while it evaluates)."""
    return SavedState(monitor.memory.dump(), dict(mapper.vanished), now)


def restore(monitor: ClusterMonitor, mapper: Mapper, saved: SavedState | None) -> None:
    """Give a new monitor and mapper what their predecessors remembered. A state that cannot
    be read is logged and dropped: the checks start empty, as on a first connect."""
    if saved is None:
        return
    try:
        monitor.memory = Memory.load(saved.memory)
    except msgspec.DecodeError as exc:
        log.warning("cluster %s: saved state not readable, starting empty: %s", mapper.cluster, exc)
        return
    mapper.vanished = {str(k): float(v) for k, v in saved.vanished.items()}

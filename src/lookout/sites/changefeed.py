"""What changed on this site since a cursor: the feed central sites follow (issue 12).

The engine already knows which statuses changed since the last checkpoint (``engine.dirty``)
and which objects went (``engine.deleted``). The feed sweeps those sets — when asked and just
before each checkpoint clears them, so nothing slips through — and stamps each object whose
shown fields (:func:`fingerprint`) differ from what it last stamped with a new sequence number.
A host's change re-examines its services (their ``handled`` depends on it); so does a
dependency's change for its dependents. A steady OK service whose summary stays the same costs
nothing. The feed exists only once a central site has asked: a site nobody follows pays nothing.

A cursor is ``<epoch>:<seq>``; the epoch is new with each start of the site, so a cursor of an
earlier run (or one older than the removals kept) answers ``reset`` and the central site syncs
in full.
"""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Iterable

from lookout.engine.core import Engine
from lookout.engine.status import Status
from lookout.wire.central import MAX_TEXT, ChangesPage, RemoteObject

Key = tuple[str, str]
Fingerprint = tuple[object, ...]

KEEP_REMOVED = 100_000
"""Removals remembered; a cursor older than the oldest forgotten one gets ``reset``."""


def fingerprint(engine: Engine, st: Status) -> Fingerprint:
    return (
        st.state,
        st.hard,
        st.attempt,
        st.checked,
        st.summary,
        st.ack is not None,
        st.downtime_depth,
        engine.handled(st),
        st.stale,
        st.flapping,
        bool(st.service) and engine.host_in_downtime(st.host),
    )


def remote_object(engine: Engine, st: Status) -> RemoteObject:
    return RemoteObject(
        host=st.host,
        service=st.service,
        state=st.state,
        hard=st.hard,
        checked=st.checked,
        summary=st.summary[:MAX_TEXT],
        last_check=st.last_check,
        last_state_change=st.last_state_change,
        acknowledged=st.ack is not None,
        in_downtime=st.downtime_depth > 0
        or (bool(st.service) and engine.host_in_downtime(st.host)),
        handled=engine.handled(st),
        stale=st.stale,
        flapping=st.flapping,
        attempt=st.attempt,
    )


class ChangeFeed:
    def __init__(self, engine: Engine, site: str) -> None:
        self.engine = engine
        self.site = site
        self.epoch = secrets.token_hex(6)
        self.seq = 0
        self._stamp: dict[Key, int] = {}
        self._shown: dict[Key, Fingerprint] = {}
        self._removed: deque[tuple[int, Key]] = deque()
        self._gone: set[Key] = set()
        self._floor = 0
        """Cursors below this lost removals: they need a full sync."""

    # ------------------------------------------------------------------ sweeping
    def sweep(self) -> None:
        """Stamp what changed since the last sweep (called before a checkpoint clears
        ``engine.dirty`` and before each answer)."""
        eng = self.engine
        for key in eng.deleted:
            if key not in eng.status and key not in self._gone:
                self._remove(key)
        todo: Iterable[Status] = list(eng.dirty)
        follow: list[Status] = []
        for st in todo:
            if self._look(st) and (not st.service or (st.host, st.service) in eng.dependents):
                follow.append(st)
        for st in follow:
            for child in self._followers(st):
                self._look(child)

    def _followers(self, st: Status) -> list[Status]:
        eng = self.engine
        if not st.service:
            return [eng.status[(st.host, s)] for s in eng.host_services.get(st.host, {})]
        return [
            eng.status[k] for k in eng.dependents.get((st.host, st.service), ()) if k in eng.status
        ]

    def _look(self, st: Status) -> bool:
        key = (st.host, st.service)
        if key not in self.engine.status:
            return False
        fp = fingerprint(self.engine, st)
        if self._shown.get(key) == fp:
            return False
        self._gone.discard(key)
        self._shown[key] = fp
        self.seq += 1
        self._stamp[key] = self.seq
        return True

    def _remove(self, key: Key) -> None:
        self._stamp.pop(key, None)
        self._shown.pop(key, None)
        self._gone.add(key)
        self.seq += 1
        self._removed.append((self.seq, key))
        while len(self._removed) > KEEP_REMOVED:
            seq, old = self._removed.popleft()
            self._gone.discard(old)
            self._floor = seq

    # ------------------------------------------------------------------ answers
    def cursor(self, seq: int) -> str:
        return f"{self.epoch}:{seq}"

    def _seq_of(self, cursor: str) -> int | None:
        """The sequence number of one of this run's cursors that is not too old, else None."""
        epoch, _, seq = cursor.partition(":")
        if epoch != self.epoch or not seq.isdigit():
            return None
        n = int(seq)
        return n if self._floor <= n <= self.seq else None

    def page(self, since: str, after: Key | None, limit: int) -> ChangesPage:
        """Changes after ``since``; a full page of objects after ``after`` when ``since`` is
        empty, of another run or too old."""
        self.sweep()
        start = self._seq_of(since) if since else None
        if start is None:
            return self._full(after, limit, reset=bool(since) and after is None)
        changed = sorted((seq, key) for key, seq in self._stamp.items() if seq > start)
        upto = self.seq
        more = len(changed) > limit
        if more:
            changed = changed[:limit]
            upto = changed[-1][0]
        status = self.engine.status
        items = [remote_object(self.engine, status[key]) for _, key in changed]
        removed = [key for seq, key in self._removed if start < seq <= upto]
        return ChangesPage(
            site=self.site,
            cursor=self.cursor(upto),
            full=False,
            reset=False,
            more=more,
            items=items,
            removed=removed,
        )

    def _full(self, after: Key | None, limit: int, *, reset: bool) -> ChangesPage:
        """One page of every object in name order. The cursor is taken before the page: what
        changes while the pages are read comes again with the next changes."""
        status = self.engine.status
        for st in status.values():  # everything shown now is the baseline of what changes
            key = (st.host, st.service)
            if key not in self._shown:
                self._shown[key] = fingerprint(self.engine, st)
        keys = sorted(k for k in status if after is None or k > after)
        page = keys[:limit]
        return ChangesPage(
            site=self.site,
            cursor=self.cursor(self.seq),
            full=True,
            reset=reset,
            more=len(keys) > limit,
            items=[remote_object(self.engine, status[k]) for k in page],
        )

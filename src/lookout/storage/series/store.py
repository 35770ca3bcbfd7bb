"""The series store: one object per site holding what lives in memory (series ids, the buffer
of points, points taken for a checkpoint, the downsampling pass) and the methods the site
calls; the work is done by ``points``, ``rollups``, ``queries`` and ``retention``."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa

from lookout.domain.metrics import Metric
from lookout.errors import ConfigError
from lookout.storage.series import queries, retention
from lookout.storage.series.points import (
    META_NAMES,
    Entry,
    PendingPoints,
    SeriesKey,
    chunk_rows,
    create_series,
    group_points,
    insert_chunks,
    meta_columns,
    remember,
)
from lookout.storage.series.queries import Buckets, SeriesData, bucket_range
from lookout.storage.series.retention import SeriesRetention
from lookout.storage.series.rollups import ROLLUP_ROWS, Downsampler
from lookout.storage.tables import metric_series

_QUERY_TRIES = 5  # reads of the database when commits of taken points keep coming between
_QUERY_WAIT = 10.0  # seconds a query waits for a commit of taken points, at most


class SeriesStore:
    """Buffers metric points in memory and writes them as chunks; rolls them up per checkpoint
    (``roll_up``) and applies retention in ``prune``/``expire``."""

    def __init__(
        self, retention: SeriesRetention | None = None, rollup_rows: int | None = None
    ) -> None:
        if rollup_rows is not None and rollup_rows < 1:
            raise ConfigError("invalid series store", [f"rollup_rows {rollup_rows} < 1"])
        self.retention = retention or SeriesRetention()
        self.rollup_rows = rollup_rows
        """Chunks per ``roll_up`` (None: as many as keep up with the series, see the package)."""
        self._steps = tuple(step for step, _ in self.retention.rollups)
        self._pending: list[Entry] = []
        self._taken: tuple[list[Entry], ...] = ()  # taken, not yet committed (copy on write)
        self._commits = 0  # odd while taken points are being committed
        self._committed = threading.Condition()
        self._ids: dict[SeriesKey, int] = {}  # key → fingerprint << ID_BITS | series id
        self._rollups = Downsampler(self._steps)

    @property
    def series_count(self) -> int:
        """Series known to exist in the database."""
        return len(self._ids)

    def add(self, host: str, service: str, metrics: Sequence[Metric], ts: float) -> None:
        """Buffer ``metrics`` measured at ``ts``. Hot path: one append per call; the latest
        unit/thresholds of each series are the ones of its last buffered metric."""
        if metrics:
            self._pending.append((host, service, tuple(metrics), ts))

    def take_pending(self, *, keep_visible: bool = False) -> PendingPoints:
        """Hand the buffered points over for writing and start a new buffer. With
        ``keep_visible`` ``query`` still sees them until the caller commits the transaction
        writing them inside ``publishing`` (or hands them back with ``release``)."""
        entries = self._pending
        if keep_visible:  # before the swap: a query may see them twice (once counted), not never
            self._taken = (*self._taken, entries)
        self._pending = []
        return PendingPoints(entries)

    @contextmanager
    def publishing(self, points: PendingPoints | None) -> Iterator[None]:
        """Wrap the commit of the transaction that wrote ``points`` (a ``take_pending``
        result): queries wait meanwhile, and afterwards read them from the database only."""
        if points is None:
            yield
            return
        with self._committed:
            self._commits += 1
        try:
            yield
        finally:
            with self._committed:
                self._forget_taken(points)
                self._commits += 1
                self._committed.notify_all()

    def release(self, points: PendingPoints | None) -> None:
        """Stop showing ``points`` to queries: they will not be written (the write failed)."""
        if points is not None:
            with self._committed:
                self._forget_taken(points)

    def hand_back(self, points: PendingPoints | None) -> None:
        """Put ``points`` (taken, their write failed) back in front of the buffer, to be taken
        by the next checkpoint: shown to queries throughout, once."""
        if points is None or not points.entries:
            self.release(points)
            return
        with self._committed:
            self._pending = [*points.entries, *self._pending]
            self._forget_taken(points)
            self._commits += 2  # a query reading meanwhile reads again (it may have missed them)

    def _forget_taken(self, points: PendingPoints) -> None:
        self._taken = tuple(taken for taken in self._taken if taken is not points.entries)

    # ---- writer thread --------------------------------------------------------------------

    def load(self, conn: sa.Connection) -> None:
        """Read the ids (and stored unit/thresholds) of every series, and forget a downsampling
        pass under way (its writes may have been rolled back; the next pass writes them anew)."""
        self._rollups.reset()
        ids: dict[SeriesKey, int] = {}
        query = sa.select(
            metric_series.c.id,
            metric_series.c.host,
            metric_series.c.service,
            metric_series.c.name,
            *meta_columns(),
        )
        for row in conn.execute(query, execution_options={"yield_per": 10_000}):
            remember(ids, row)
        self._ids = ids

    def write_pending(self, conn: sa.Connection, pending: PendingPoints) -> None:
        """Write ``pending`` in the caller's transaction: series rows and one chunk per series
        (plus rollup merges for the rare points already rolled up)."""
        if not pending.entries:
            return
        groups = group_points(pending.entries)
        create_series(conn, self._ids, [key for key in groups if key not in self._ids], groups)
        rows, updates = chunk_rows(self._ids, groups)
        if updates:
            update = (
                sa.update(metric_series)
                .where(metric_series.c.id == sa.bindparam("b_id"))
                .values({column: sa.bindparam(column) for column in META_NAMES})
            )
            conn.execute(update, updates)
        if not rows:
            return
        late = self._rollups.prepare_late(conn, rows)
        insert_chunks(conn, rows)
        if late is not None:
            late.apply(conn)

    def roll_up(self, conn: sa.Connection, now: float) -> bool:
        """Advance downsampling by about ``rollup_rows`` chunks read (see the package
        docstring). Returns whether every complete bucket is rolled up."""
        budget = self.rollup_rows
        if budget is None:
            budget = max(ROLLUP_ROWS, 2 * len(self._ids))
        return self._rollups.advance(conn, now, budget)

    def prune(self, conn: sa.Connection, now: float) -> int:
        """Roll up every complete bucket into ``metric_rollup``, then ``expire``. Returns the
        number of rows deleted (chunks and rollups)."""
        self._rollups.advance(conn, now, math.inf)
        return self.expire(conn, now)

    def expire(self, conn: sa.Connection, now: float) -> int:
        """Delete points older than their retention (chunks only once rolled up) and series
        left without points. Returns the number of rows deleted (chunks and rollups)."""
        deleted, dropped = retention.expire(conn, self.retention, now)
        self._forget_ids(dropped)
        return deleted

    def forget(self, conn: sa.Connection, host: str, service: str | None = None) -> int:
        """Remove the series and points of ``host``'s ``service``, or of the whole host when
        ``service`` is None. Returns the number of series removed."""
        rows = retention.series_of(conn, host, service)
        self._forget_ids(retention.delete_series(conn, rows))
        return len(rows)

    def _forget_ids(self, keys: list[SeriesKey]) -> None:
        for key in keys:
            self._ids.pop(key, None)

    # ---- any thread -----------------------------------------------------------------------

    def query(
        self,
        conn: sa.Connection,
        host: str,
        service: str,
        name: str | None,
        start: float,
        end: float,
        step: float,
    ) -> list[SeriesData]:
        """Average values per ``step`` bucket from ``floor(start / step) * step`` to ``end``,
        for one metric or (``name`` None) every metric of the object, pending points included.
        """
        first, count = bucket_range(start, end, step)
        buckets = Buckets(first, step, count)
        for _ in range(_QUERY_TRIES):
            seen = self._quiet_commits()
            buffers = self._buffers()
            stored = queries.stored_series(conn, host, service, name)
            sums = {series_name: buckets.empty() for series_name, _ in stored.values()}
            if stored:
                queries.fill_from_db(conn, self._steps, stored, buckets, sums)
            if self._commits == seen:  # no taken points were committed while reading
                break
        metas = {series_name: meta for series_name, meta in stored.values()}
        for entries in buffers:
            queries.fill_from_entries(entries, host, service, name, buckets, sums, metas)
        return [
            SeriesData(series_name, *metas[series_name], points=buckets.points(*sums[series_name]))
            for series_name in sorted(sums)
        ]

    def _quiet_commits(self) -> int:
        """The commit count once no commit of taken points is under way."""
        with self._committed:
            self._committed.wait_for(lambda: self._commits % 2 == 0, timeout=_QUERY_WAIT)
            return self._commits

    def _buffers(self) -> list[list[Entry]]:
        """The points not yet in the database: taken ones first, then the pending buffer.
        The buffer is read first: a ``take_pending`` in between shows it in both, once here."""
        pending = self._pending
        taken = self._taken
        if any(entries is pending for entries in taken):
            return list(taken)
        return [*taken, pending]

"""Metric time series: raw points in per-flush chunks plus rollups, each kept for a fixed time.

Storage:

* ``metric_chunk``: each ``write_pending`` writes one row per series holding all its pending
  points as little-endian float64 ``(ts, value)`` pairs, sorted by ts without duplicate ts
  (the later value wins), with ``start_ts``/``end_ts``/``count``;
* ``metric_rollup``: ``(count, sum, min, max)`` per series, step and bucket, written by the
  downsampling pass for complete buckets before each step's watermark (``metric_watermark``);
  a point written with a ts already before a watermark (a late point) is merged into that
  step's bucket right away, so rollups stay complete below it. A late point that replaces a
  stored one (the same series and ts sent again) changes the bucket's sum by the difference
  and leaves its count, so it is not counted twice;
* a query at step ``s`` reads the largest rollup step ≤ ``s`` below its watermark and raw
  points from chunks after it, merging both per bucket; below the smallest step it reads chunks
  only. Everything is in the database, so answers are the same after a restart.

Size is bounded by time, not by count:

* ``metric_chunk`` holds per series at most one row per flush (checkpoint) that had points
  of it, for ``raw_seconds``: a chunk is deleted once it is older than ``raw_seconds`` *and*
  every step has rolled it up (the latter matters only for a step, plus 2 min and the prune
  interval, longer than ``raw_seconds``). So per series at most
  ``raw_seconds / max(flush interval, check interval)`` rows holding
  ``raw_seconds / check interval`` points of 16 bytes, e.g. 2 days of a 10 s check and 10 s
  checkpoints: 17,280 rows and points (270 KiB); a 60 s check: 2,880 of each;
* ``metric_rollup`` holds at most ``keep / step`` rows per series and step whatever the check
  interval, e.g. 40 days of 5 min buckets = 11,520 and 400 days of 1 h buckets = 9,600;
* ``metric_watermark`` holds one row per rollup step;
* series rows exist for configured objects' metrics: ``forget`` removes a deleted service's
  or host's series, and ``prune`` drops series left without any point (metrics that stopped).

So the database stays within ``series × (raw_seconds / flush interval + Σ keep / step)`` rows.
In memory the store keeps one dict entry per series (key tuple of interned strings → id packed
with a fingerprint of the stored unit/thresholds, well under 200 bytes per series) and the
points added since the last ``take_pending`` (flush interval × result rate) until the
transaction writing them commits. The downsampling pass works on ``_CHUNK`` series at a time:
its memory is bounded by the points of that many series since the last pass.

Downsampling is incremental: ``roll_up``, called at every checkpoint, advances a pass over the
series in id order until it has read about ``rollup_rows`` chunks, and moves the watermarks once
the pass has covered every series (``prune`` finishes the pass at once, then applies
retention). By default the share is ``max(ROLLUP_ROWS, (steps + 1) × series)`` chunks: each
checkpoint adds at most one chunk per series and each step's pass reads it once, so passes keep
up while no checkpoint does a whole hour's work (``bench/series.py``). A pass writes the buckets
between the old and the new watermark whole (replacing what a pass cut short by a restart
wrote), so it is idempotent and needs no state beyond memory; until it moves the watermarks,
queries read those buckets from the chunks, and a late point of a series the pass has done is
merged into its bucket.

Threads: ``add`` and ``take_pending`` run in the asyncio thread; ``write_pending``, ``load``,
``roll_up``, ``prune``, ``expire`` and ``forget`` run in the single writer thread inside the
caller's transaction (never committed here). If that transaction rolls back, call ``load``
again before the next ``write_pending``: series ids remembered meanwhile may not exist. A
caller taking points with ``keep_visible`` commits the transaction that wrote them inside
``publishing(points)`` (or hands them back with ``release`` when they will never be written).
``query`` may run in any thread: it reads the buffers without locking (appends are atomic
under the GIL), points taken with ``keep_visible`` but not committed included; it waits while
a commit of taken points is under way and reads again if one happened meanwhile (a sequence
count, as in a seqlock), so it never counts such points twice or misses them. It reads the
watermarks first, then rollups before them and chunk points from them on, so a pass committed
in between cannot make it count a point twice or miss one.

Known limits: a point sent again after its chunk was deleted (older than ``raw_seconds`` and
rolled up) is counted again in the rollups: nothing is left to tell it from a new point; the
min and max of a bucket whose extreme point was replaced keep the old extreme (the average is
exact); ``forget`` does not touch the pending buffer, so results still buffered for a forgotten
object create its series again.
"""

from __future__ import annotations

import math
import struct
import sys
import threading
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from operator import lt
from typing import Any, TypeVar

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from lookout.domain.metrics import Metric
from lookout.errors import ConfigError, StorageError, ValidationError
from lookout.storage.tables import metric_chunk, metric_rollup, metric_series, metric_watermark

__all__ = ["PendingPoints", "SeriesData", "SeriesKey", "SeriesRetention", "SeriesStore"]

SeriesKey = tuple[str, str, str]
"""(host, service, metric name)."""

_Entry = tuple[str, str, tuple[Metric, ...], float]
_Meta = tuple[str, float | None, float | None, float | None, float | None]
_ChunkRow = tuple[int, float, float, int, bytes]  # series id, start, end, count, data
_RollupRow = tuple[int, int, float, int, float, float, float]  # id, step, ts, n, sum, min, max
_T = TypeVar("_T")

_ID_BITS = 40
_ID_MASK = (1 << _ID_BITS) - 1
_FINGERPRINT_MASK = 0xFFFFFFFF
_CHUNK = 300  # keys or ids per IN list: stays below SQLite's 999 bound parameters
_MAX_BUCKETS = 10_000
_NAME_LENGTH = 255  # metric_series host/service/name columns
_UNIT_LENGTH = 16  # metric_series.unit
_ROLLUP_LAG = 120.0  # seconds after its end before a bucket is rolled up (late results)
ROLLUP_ROWS = 20_000
"""Chunks a checkpoint's ``roll_up`` reads at least (unless the pass ends), if it has to."""
_FIRST_BATCH = 32  # series in a roll_up's first batch, before it knows their chunks per series
_QUERY_TRIES = 5  # reads of the database when commits of taken points keep coming between
_QUERY_WAIT = 10.0  # seconds a query waits for a commit of taken points, at most
_LITTLE_ENDIAN = sys.byteorder == "little"
_CHUNK_COLUMNS = ("series_id", "start_ts", "end_ts", "count", "data")
_ROLLUP_COLUMNS = ("series_id", "step", "ts", "count", "sum", "min", "max")
_STRUCT_SIZES = 128  # floats: chunks of up to 64 points are packed with a cached Struct
_STRUCTS: dict[int, struct.Struct] = {}
_PAIR = struct.Struct("<2d")
_COPY_CHUNKS = f"COPY metric_chunk ({', '.join(_CHUNK_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
_SERIES_INPUT = "metric_series_input"  # PostgreSQL: temporary table new series are copied into
_ROLLUP_INPUT = sa.table("metric_rollup_input", *(sa.column(c) for c in _ROLLUP_COLUMNS))
"""PostgreSQL: a temporary table (per session, emptied at commit) rollups are copied into."""
_COPY_ROLLUPS = (
    f"COPY {_ROLLUP_INPUT.name} ({', '.join(_ROLLUP_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
)
_DRIVER_SQL: dict[tuple[str, str], str] = {}  # (dialect, statement) → compiled driver SQL


@dataclass(frozen=True, slots=True)
class SeriesRetention:
    """How long points are kept: raw for ``raw_seconds``, each ``(step, keep)`` rollup for
    ``keep`` seconds. Steps are whole seconds, strictly increasing."""

    raw_seconds: float = 2 * 86400
    rollups: tuple[tuple[int, float], ...] = ((300, 40 * 86400), (3600, 400 * 86400))

    def __post_init__(self) -> None:
        problems = [] if self.raw_seconds > 0 else ["raw_seconds must be > 0"]
        steps = [step for step, _ in self.rollups]
        if steps != sorted(set(steps)) or any(step <= 0 for step in steps):
            problems.append("rollup steps must be positive and strictly increasing")
        if any(keep <= 0 for _, keep in self.rollups):
            problems.append("rollup keep times must be > 0")
        if problems:
            raise ConfigError("invalid series retention", problems)


class PendingPoints:
    """Points added since the last ``take_pending``: ``(host, service, metrics, ts)`` entries."""

    __slots__ = ("entries",)

    def __init__(self, entries: list[_Entry] | None = None) -> None:
        self.entries: list[_Entry] = [] if entries is None else entries

    def __len__(self) -> int:
        return len(self.entries)

    def point_count(self) -> int:
        return sum(len(metrics) for _, _, metrics, _ in self.entries)


class SeriesData(msgspec.Struct):
    """One metric over a time range: ``points`` are (bucket start, average or None)."""

    name: str
    unit: str
    warn: float | None
    crit: float | None
    min: float | None
    max: float | None
    points: list[tuple[float, float | None]]


@dataclass(frozen=True, slots=True)
class _LateMark:
    """A step's watermark, and the new one of a pass under way (the same when it does not
    move) that holds for the series up to ``done_through``."""

    mark: float
    new: float
    done_through: int

    @property
    def highest(self) -> float:
        return self.new if self.done_through >= 0 else self.mark

    def of(self, series_id: int) -> float:
        return self.new if series_id <= self.done_through else self.mark


@dataclass(slots=True)
class _Pass:
    """A downsampling pass under way: each moving step's (old, new) watermark, and the last
    series id whose buckets up to the new watermark are written."""

    moves: dict[int, tuple[float, float]]
    done_through: int = -1


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
        """Chunks per ``roll_up`` (None: as many as keep up with the series, see above)."""
        self._steps = tuple(step for step, _ in self.retention.rollups)
        self._pending: list[_Entry] = []
        self._taken: tuple[list[_Entry], ...] = ()  # taken, not yet committed (copy on write)
        self._commits = 0  # odd while taken points are being committed
        self._committed = threading.Condition()
        self._ids: dict[SeriesKey, int] = {}  # key → fingerprint << _ID_BITS | series id
        self._pass: _Pass | None = None
        self._next_pass = -math.inf  # no step can move before this time

    @property
    def series_count(self) -> int:
        """Series known to exist in the database."""
        return len(self._ids)

    # ---- asyncio thread -------------------------------------------------------------------

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

    # ---- writer thread --------------------------------------------------------------------

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

    def _forget_taken(self, points: PendingPoints) -> None:
        self._taken = tuple(taken for taken in self._taken if taken is not points.entries)

    def load(self, conn: sa.Connection) -> None:
        """Read the ids (and stored unit/thresholds) of every series, and forget a downsampling
        pass under way (its writes may have been rolled back; the next pass writes them anew)."""
        self._pass = None
        self._next_pass = -math.inf
        ids: dict[SeriesKey, int] = {}
        query = sa.select(
            metric_series.c.id,
            metric_series.c.host,
            metric_series.c.service,
            metric_series.c.name,
            *_meta_columns(),
        )
        for row in conn.execute(query, execution_options={"yield_per": 10_000}):
            _remember(ids, row)
        self._ids = ids

    def write_pending(self, conn: sa.Connection, pending: PendingPoints) -> None:
        """Write ``pending`` in the caller's transaction: series rows and one chunk per series
        (plus rollup merges for the rare points before a watermark)."""
        if not pending.entries:
            return
        groups = _group(pending.entries)
        self._create_series(conn, [key for key in groups if key not in self._ids], groups)
        rows, updates = self._chunk_rows(groups)
        if updates:
            update = (
                sa.update(metric_series)
                .where(metric_series.c.id == sa.bindparam("b_id"))
                .values({column: sa.bindparam(column) for column in _META_NAMES})
            )
            conn.execute(update, updates)
        if not rows:
            return
        marks = self._late_marks(_read_watermarks(conn))
        highest = max((mark.highest for mark in marks.values()), default=-math.inf)
        late = [row for row in rows if row[1] < highest]
        stored = self._stored_points(conn, late, highest) if late else {}
        _insert_chunks(conn, rows)
        if late:
            self._merge_late(conn, late, marks, stored)

    def roll_up(self, conn: sa.Connection, now: float) -> bool:
        """Advance downsampling by about ``rollup_rows`` chunks read (see the module
        docstring). Returns whether every complete bucket is rolled up."""
        budget = self.rollup_rows
        if budget is None:
            budget = max(ROLLUP_ROWS, (len(self._steps) + 1) * len(self._ids))
        return self._roll_up(conn, now, budget)

    def prune(self, conn: sa.Connection, now: float) -> int:
        """Roll up every complete bucket into ``metric_rollup``, then ``expire``. Returns the
        number of rows deleted (chunks and rollups)."""
        self._roll_up(conn, now, math.inf)
        return self.expire(conn, now)

    def expire(self, conn: sa.Connection, now: float) -> int:
        """Delete points older than their retention (chunks only once rolled up) and series
        left without points. Returns the number of rows deleted (chunks and rollups)."""
        marks = _read_watermarks(conn)
        stale = sorted(step for step in marks if step not in self._steps)
        # chunks go once they are past raw retention and every step has rolled them up
        chunk_cut = min(
            [now - self.retention.raw_seconds, *(marks.get(s, -math.inf) for s in self._steps)]
        )
        deleted = 0
        chunk, rollup = metric_chunk.c, metric_rollup.c
        ids = conn.execute(sa.select(metric_series.c.id).order_by(metric_series.c.id))
        for batch in _chunks(ids.scalars().all(), _CHUNK):
            deleted += conn.execute(
                sa.delete(metric_chunk).where(chunk.series_id.in_(batch), chunk.end_ts < chunk_cut)
            ).rowcount
            for step, keep in self.retention.rollups:
                old_rollups = sa.delete(metric_rollup).where(
                    rollup.series_id.in_(batch), rollup.step == step, rollup.ts < now - keep
                )
                deleted += conn.execute(old_rollups).rowcount
            for step in stale:  # rollups of a step no longer configured
                deleted += conn.execute(
                    sa.delete(metric_rollup).where(rollup.series_id.in_(batch), rollup.step == step)
                ).rowcount
        if stale:
            conn.execute(sa.delete(metric_watermark).where(metric_watermark.c.step.in_(stale)))
        self._drop_empty_series(conn)
        return deleted

    def forget(self, conn: sa.Connection, host: str, service: str | None = None) -> int:
        """Remove the series and points of ``host``'s ``service``, or of the whole host when
        ``service`` is None. Returns the number of series removed."""
        where = metric_series.c.host == host
        if service is not None:
            where = sa.and_(where, metric_series.c.service == service)
        query = sa.select(
            metric_series.c.id, metric_series.c.host, metric_series.c.service, metric_series.c.name
        ).where(where)
        rows = [(row[0], row[1], row[2], row[3]) for row in conn.execute(query)]
        self._delete_series(conn, rows)
        return len(rows)

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
        first, count = _buckets(start, end, step)
        buckets = _Buckets(first, step, count)
        for _ in range(_QUERY_TRIES):
            seen = self._quiet_commits()
            buffers = self._buffers()
            stored = _stored_series(conn, host, service, name)
            sums = {series_name: buckets.empty() for series_name, _ in stored.values()}
            if stored:
                self._fill_from_db(conn, stored, buckets, sums)
            if self._commits == seen:  # no taken points were committed while reading
                break
        metas = {series_name: meta for series_name, meta in stored.values()}
        for entries in buffers:
            _fill_from_entries(entries, host, service, name, buckets, sums, metas)
        return [
            SeriesData(series_name, *metas[series_name], points=buckets.points(*sums[series_name]))
            for series_name in sorted(sums)
        ]

    # ---- helpers --------------------------------------------------------------------------

    def _create_series(
        self, conn: sa.Connection, keys: list[SeriesKey], groups: dict[SeriesKey, list[Any]]
    ) -> None:
        """Insert rows for new series (skipping names too long to store) and learn their ids:
        from RETURNING for the rows inserted, by host for rows that existed already."""
        keys = [key for key in keys if max(map(len, key)) <= _NAME_LENGTH]
        if not keys:
            return
        ids = self._ids
        for row in _insert_series(conn, [(*key, *_meta(groups[key][0])) for key in keys]):
            _remember(ids, row)
        missing = [key for key in keys if key not in ids]
        wanted = set(missing)
        for hosts in _chunks(sorted({host for host, _, _ in missing}), _CHUNK):
            query = sa.select(*_series_columns()).where(metric_series.c.host.in_(hosts))
            for row in conn.execute(query):
                if (row[1], row[2], row[3]) in wanted:
                    _remember(ids, row)

    def _chunk_rows(
        self, groups: dict[SeriesKey, list[Any]]
    ) -> tuple[list[_ChunkRow], list[dict[str, Any]]]:
        """One chunk row per known series with points (sorted by ts, later duplicates
        winning) and the metric_series updates for changed unit/thresholds (a fingerprint per
        series avoids needless updates). Hot loop: few allocations per series."""
        ids = self._ids
        rows: list[_ChunkRow] = []
        updates: list[dict[str, Any]] = []
        pair = _PAIR.pack
        for key, group in groups.items():
            packed = ids.get(key)
            if packed is None:
                continue
            metric = group[0]
            # cheap check first: the stored (normalized) meta usually equals the metric's
            fingerprint = (
                hash((metric.unit, metric.warn, metric.crit, metric.min, metric.max))
                & _FINGERPRINT_MASK
            )
            series_id = packed & _ID_MASK
            if packed >> _ID_BITS != fingerprint:  # changed, or stored normalized
                meta = _meta(metric)
                fingerprint = _fingerprint(meta)
                if packed >> _ID_BITS != fingerprint:
                    ids[key] = fingerprint << _ID_BITS | series_id
                    updates.append({"b_id": series_id, **dict(zip(_META_NAMES, meta, strict=True))})
            size = len(group) - 1
            if size == 2:  # one point
                ts = group[1]
                rows.append((series_id, ts, ts, 1, pair(ts, group[2])))
            elif size:
                flat = group[1:]
                stamps = flat[0::2]
                if not all(map(lt, stamps, islice(stamps, 1, None))):
                    flat = _sorted_unique(flat)
                rows.append((series_id, flat[0], flat[-2], len(flat) >> 1, _pack(flat)))
        return rows, updates

    def _late_marks(self, marks: dict[int, float]) -> dict[int, _LateMark]:
        """Per step, the time before which a point of a series is already rolled up: the
        watermark, or the new one of a pass under way for the series it has done."""
        out: dict[int, _LateMark] = {}
        moving = self._pass.moves if self._pass is not None else {}
        done = self._pass.done_through if self._pass is not None else -1
        for step in self._steps:
            mark = marks.get(step, -math.inf)
            new = moving[step][1] if step in moving else mark
            late = _LateMark(mark, new, done)
            if late.highest > -math.inf:
                out[step] = late
        return out

    def _stored_points(
        self, conn: sa.Connection, rows: list[_ChunkRow], until: float
    ) -> dict[int, tuple[array[float], array[float]]]:
        """The stored points (the later chunk's value for a repeated ts) of the series of
        ``rows`` from their first point to ``until``: what a late point may replace."""
        chunk = metric_chunk.c
        out: dict[int, tuple[array[float], array[float]]] = {}
        for batch in _chunks(rows, _CHUNK):
            query = (
                _select_chunks()
                .where(
                    chunk.series_id.in_([row[0] for row in batch]),
                    chunk.end_ts >= min(row[1] for row in batch),
                    chunk.start_ts < until,
                )
                .order_by(chunk.series_id, chunk.end_ts, chunk.id)
            )
            for series_id, stamps, values in _series_points(conn.execute(query)):
                out[series_id] = (stamps, values)
        return out

    def _merge_late(
        self,
        conn: sa.Connection,
        rows: list[_ChunkRow],
        marks: dict[int, _LateMark],
        stored: dict[int, tuple[array[float], array[float]]],
    ) -> None:
        """Merge the points already rolled up for a step into that step's buckets: a new point
        adds to count and sum; one replacing a stored point adds the difference to the sum."""
        points: list[tuple[int, float, float, float | None]] = []
        for series_id, _, _, _, data in rows:
            stamps, values = stored.get(series_id, (array("d"), array("d")))
            flat = _unpack(data)
            for i in range(0, len(flat), 2):
                ts = flat[i]
                j = bisect_left(stamps, ts)
                old = values[j] if j < len(stamps) and stamps[j] == ts else None
                points.append((series_id, ts, flat[i + 1], old))
        for step, mark in marks.items():
            due = [p for p in points if p[1] < mark.of(p[0])]
            _upsert_rollups(conn, _late_rollup_rows(due, step))

    def _roll_up(self, conn: sa.Connection, now: float, budget: float) -> bool:
        """Pass on in batches of series sized to read about ``budget`` chunks in all."""
        size = _CHUNK if budget == math.inf else max(1, min(_FIRST_BATCH, int(budget)))
        while budget > 0:
            if self._pass is None:
                if now < self._next_pass:
                    return True
                self._pass = self._start_pass(conn, now)
                if self._pass is None:
                    return True
            run = self._pass
            query = (
                sa.select(metric_series.c.id)
                .where(metric_series.c.id > run.done_through)
                .order_by(metric_series.c.id)
                .limit(size)
            )
            batch = conn.execute(query).scalars().all()
            if not batch:  # every series done: the watermarks move
                self._save_watermarks(conn, {step: new for step, (_, new) in run.moves.items()})
                self._pass = None
                continue
            read = self._downsample(conn, batch, run.moves)
            run.done_through = batch[-1]
            budget -= max(read, 1)
            per_series = max(read / len(batch), 1.0)
            size = _CHUNK if budget == math.inf else max(1, min(_CHUNK, int(budget / per_series)))
        return False

    def _start_pass(self, conn: sa.Connection, now: float) -> _Pass | None:
        """A pass to the watermarks of ``now`` (the steps that move), or None."""
        marks = _read_watermarks(conn)
        moves: dict[int, tuple[float, float]] = {}  # step → (old, new) watermark
        soonest = math.inf
        for step in self._steps:
            target = float(math.floor((now - _ROLLUP_LAG) / step) * step)
            old = marks.get(step, -math.inf)
            if target > old:
                moves[step] = (old, target)
            soonest = min(soonest, max(old, target) + step + _ROLLUP_LAG)
        self._next_pass = soonest
        return _Pass(moves) if moves else None

    def _downsample(
        self, conn: sa.Connection, batch: Sequence[int], moves: dict[int, tuple[float, float]]
    ) -> int:
        """Roll up the chunk points of ``batch`` series between each step's old and new
        watermark into ``(count, sum, min, max)`` rows, replacing those buckets (a pass cut
        short before may have written them). Returns the number of chunks read."""
        low = min(old for old, _ in moves.values())
        high = max(new for _, new in moves.values())
        chunk = metric_chunk.c
        where = [chunk.series_id.in_(batch), chunk.start_ts < high]
        if low > -math.inf:
            where.append(chunk.end_ts >= low)
        query = _select_chunks().where(*where).order_by(chunk.series_id, chunk.end_ts, chunk.id)
        out: list[_RollupRow] = []
        steps = [(step, old, new, _rollup_bucket(step)) for step, (old, new) in moves.items()]
        chunks = conn.execute(query).all()
        for series_id, stamps, values in _series_points(chunks):
            for step, old, new, bucket_of in steps:
                begin, stop = bisect_left(stamps, old), bisect_left(stamps, new)
                for bucket, i, j in _runs(stamps, begin, stop, bucket_of):
                    part = values[i:j]
                    out.append((series_id, step, bucket, j - i, sum(part), min(part), max(part)))
        _upsert_rollups(conn, out, replace=True)
        return len(chunks)

    def _save_watermarks(self, conn: sa.Connection, marks: dict[int, float]) -> None:
        insert = _insert(conn, metric_watermark)
        upsert = insert.on_conflict_do_update(
            index_elements=[metric_watermark.c.step],
            set_={"rolled_until": insert.excluded.rolled_until},
        )
        conn.execute(upsert, [{"step": s, "rolled_until": m} for s, m in sorted(marks.items())])

    def _drop_empty_series(self, conn: sa.Connection) -> None:
        series_id = metric_series.c.id
        query = sa.select(
            series_id, metric_series.c.host, metric_series.c.service, metric_series.c.name
        ).where(
            ~sa.exists().where(metric_chunk.c.series_id == series_id),
            ~sa.exists().where(metric_rollup.c.series_id == series_id),
        )
        self._delete_series(conn, [(row[0], row[1], row[2], row[3]) for row in conn.execute(query)])

    def _delete_series(self, conn: sa.Connection, rows: list[tuple[int, str, str, str]]) -> None:
        """Delete the series ``(id, host, service, name)`` rows, their points and ids."""
        for chunk in _chunks([row[0] for row in rows], _CHUNK):
            conn.execute(sa.delete(metric_chunk).where(metric_chunk.c.series_id.in_(chunk)))
            conn.execute(sa.delete(metric_rollup).where(metric_rollup.c.series_id.in_(chunk)))
            conn.execute(sa.delete(metric_series).where(metric_series.c.id.in_(chunk)))
        for _, host, service, name in rows:
            self._ids.pop((host, service, name), None)

    def _fill_from_db(
        self,
        conn: sa.Connection,
        stored: dict[int, tuple[str, _Meta]],
        buckets: _Buckets,
        sums: dict[str, tuple[list[float], list[int]]],
    ) -> None:
        """Add stored points: for each series the rollups of the largest step ≤ the query step
        that has rows in range (else of a finer one) below that step's watermark, and chunk
        points from there on (series without any such rollup: chunk points only)."""
        split: dict[int, float] = {}  # series id → watermark of the rollups used
        sources = [source for source in reversed(self._steps) if source <= buckets.step]
        marks = _read_watermarks(conn) if sources else {}
        remaining = set(stored)
        for source in sources:
            mark = marks.get(source)
            if mark is None:
                continue
            until = min(mark, buckets.limit)
            if until <= buckets.first or not remaining:
                break
            found: set[int] = set()
            for series_id, index, total, count in _aggregate(
                conn, source, remaining, buckets, until
            ):
                found.add(series_id)
                values, counts = sums[stored[series_id][0]]
                values[int(index)] += total
                counts[int(index)] += int(count)
            split.update(dict.fromkeys(found, mark))
            remaining -= found
        self._fill_from_chunks(conn, stored, split, buckets, sums)

    def _fill_from_chunks(
        self,
        conn: sa.Connection,
        stored: dict[int, tuple[str, _Meta]],
        split: dict[int, float],
        buckets: _Buckets,
        sums: dict[str, tuple[list[float], list[int]]],
    ) -> None:
        """Add chunk points in range at or after each series' ``split`` time."""
        chunk = metric_chunk.c
        low = max(buckets.first, min(split.get(series_id, -math.inf) for series_id in stored))
        bucket_of = buckets.bucket_of
        for batch in _chunks(sorted(stored), _CHUNK):
            query = (
                _select_chunks()
                .where(
                    chunk.series_id.in_(batch),
                    chunk.end_ts >= low,
                    chunk.start_ts < buckets.limit,
                )
                .order_by(chunk.series_id, chunk.end_ts, chunk.id)
            )
            for series_id, stamps, points in _series_points(conn.execute(query)):
                values, counts = sums[stored[series_id][0]]
                begin = max(buckets.first, split.get(series_id, -math.inf))
                start, stop = bisect_left(stamps, begin), bisect_left(stamps, buckets.limit)
                for index, i, j in _runs(stamps, start, stop, bucket_of):
                    values[int(index)] += sum(points[i:j])
                    counts[int(index)] += j - i

    def _quiet_commits(self) -> int:
        """The commit count once no commit of taken points is under way."""
        with self._committed:
            self._committed.wait_for(lambda: self._commits % 2 == 0, timeout=_QUERY_WAIT)
            return self._commits

    def _buffers(self) -> list[list[_Entry]]:
        """The points not yet in the database: taken ones first, then the pending buffer.
        The buffer is read first: a ``take_pending`` in between shows it in both, once here."""
        pending = self._pending
        taken = self._taken
        if any(entries is pending for entries in taken):
            return list(taken)
        return [*taken, pending]


def _fill_from_entries(
    entries: list[_Entry],
    host: str,
    service: str,
    name: str | None,
    buckets: _Buckets,
    sums: dict[str, tuple[list[float], list[int]]],
    metas: dict[str, _Meta],
) -> None:
    for entry_host, entry_service, metrics, ts in entries:
        if entry_host != host or entry_service != service:
            continue
        for metric in metrics:
            if name is not None and metric.name != name:
                continue
            metas[metric.name] = _meta(metric)
            values, counts = sums.setdefault(metric.name, buckets.empty())
            index = buckets.index(ts)
            if index is not None and metric.value - metric.value == 0.0:
                values[index] += metric.value
                counts[index] += 1


@dataclass(frozen=True, slots=True)
class _Buckets:
    first: float
    step: float
    count: int

    @property
    def limit(self) -> float:
        return self.first + self.count * self.step

    def empty(self) -> tuple[list[float], list[int]]:
        return [0.0] * self.count, [0] * self.count

    def index(self, ts: float) -> int | None:
        if self.first <= ts < self.limit:
            return min(int((ts - self.first) // self.step), self.count - 1)
        return None

    def bucket_of(self, ts: float) -> tuple[float, float]:
        """(index, end) of the bucket of ``ts`` (first ≤ ts < limit)."""
        index = min(int((ts - self.first) // self.step), self.count - 1)
        end = self.limit if index == self.count - 1 else self.first + (index + 1) * self.step
        return index, end

    def points(self, values: list[float], counts: list[int]) -> list[tuple[float, float | None]]:
        return [
            (self.first + i * self.step, values[i] / counts[i] if counts[i] else None)
            for i in range(self.count)
        ]


_META_NAMES = ("unit", "warn", "crit", "min", "max")
_SERIES_COLUMNS = ("host", "service", "name", *_META_NAMES)


def _meta_columns() -> list[sa.Column[Any]]:
    return [metric_series.c[column] for column in _META_NAMES]


def _series_columns() -> list[sa.Column[Any]]:
    """id, host, service, name and the meta columns: what ``_remember`` takes."""
    c = metric_series.c
    return [c.id, c.host, c.service, c.name, *_meta_columns()]


def _finite(number: float | None) -> float | None:
    return number if number is not None and math.isfinite(number) else None


def _meta(metric: Metric) -> _Meta:
    """The unit and thresholds of ``metric`` as stored (unit cut to the column size)."""
    return (
        metric.unit[:_UNIT_LENGTH],
        _finite(metric.warn),
        _finite(metric.crit),
        _finite(metric.min),
        _finite(metric.max),
    )


def _fingerprint(meta: _Meta) -> int:
    return hash(meta) & _FINGERPRINT_MASK


def _remember(ids: dict[SeriesKey, int], row: Sequence[Any]) -> None:
    """Store an ``(id, host, service, name, *meta)`` row in ``ids``, strings interned: host,
    service and metric names repeat across series."""
    series_id, host, service, name = row[0], row[1], row[2], row[3]
    if series_id > _ID_MASK:
        raise StorageError(f"metric series id {series_id} does not fit in {_ID_BITS} bits")
    key = (sys.intern(host), sys.intern(service), sys.intern(name))
    ids[key] = _fingerprint(_row_meta(row, 4)) << _ID_BITS | series_id


def _row_meta(row: Sequence[Any], offset: int) -> _Meta:
    return (row[offset], row[offset + 1], row[offset + 2], row[offset + 3], row[offset + 4])


def _group(entries: list[_Entry]) -> dict[SeriesKey, list[Any]]:
    """Per series ``[latest metric, ts, value, ts, value, …]``: its finite points in buffer
    order (hot loop: one dict lookup per point, no per-point objects beyond the key)."""
    groups: dict[SeriesKey, list[Any]] = {}
    get = groups.get
    for host, service, metrics, ts in entries:
        for metric in metrics:
            key = (host, service, metric.name)
            group = get(key)
            value = metric.value
            if group is None:
                groups[key] = [metric, ts, value] if value - value == 0.0 else [metric]
            else:
                group[0] = metric
                if value - value == 0.0:  # finite
                    group.append(ts)
                    group.append(value)
    return groups


def _sorted_unique(flat: list[float]) -> list[float]:
    """``[ts, value, …]`` sorted by ts, the later value winning for a repeated ts."""
    merged = dict(zip(flat[0::2], flat[1::2], strict=True))
    return [number for ts in sorted(merged) for number in (ts, merged[ts])]


def _pack(flat: list[float]) -> bytes:
    """``flat`` as little-endian float64s: a cached ``Struct`` for the common short chunks."""
    size = len(flat)
    if size <= _STRUCT_SIZES:
        packer = _STRUCTS.get(size)
        if packer is None:
            packer = _STRUCTS[size] = struct.Struct(f"<{size}d")
        return packer.pack(*flat)
    data = array("d", flat)
    if not _LITTLE_ENDIAN:
        data.byteswap()
    return data.tobytes()


def _unpack(data: bytes) -> array[float]:
    flat = array("d")
    flat.frombytes(data)
    if not _LITTLE_ENDIAN:
        flat.byteswap()
    return flat


def _series_points(
    rows: Iterable[Sequence[Any]],
) -> Iterator[tuple[int, array[float], array[float]]]:
    """``(series id, ts, values)`` per series from chunk rows ``(series id, chunk id, start,
    end, data)`` ordered by series id and end: sorted by ts, a repeated ts keeping the value
    of the later chunk."""
    current = -1
    blobs: list[bytes] = []
    chunk_ids: list[int] = []
    ordered = True  # no chunk overlaps an earlier one: the points are sorted and unique
    last_end = -math.inf
    for series_id, chunk_id, start, end, data in rows:
        if series_id != current:
            if blobs:
                yield current, *_decode(blobs, chunk_ids, ordered)
            current, blobs, chunk_ids, ordered, last_end = series_id, [], [], True, -math.inf
        if start <= last_end:
            ordered = False
        if end > last_end:
            last_end = end
        blobs.append(data)
        chunk_ids.append(chunk_id)
    if blobs:
        yield current, *_decode(blobs, chunk_ids, ordered)


def _decode(
    blobs: list[bytes], chunk_ids: list[int], ordered: bool
) -> tuple[array[float], array[float]]:
    if not ordered:  # in write order, so that later values win
        blobs = [blobs[i] for i in sorted(range(len(blobs)), key=chunk_ids.__getitem__)]
    flat = _unpack(b"".join(blobs))
    if ordered:
        return flat[0::2], flat[1::2]
    merged = dict(zip(flat[0::2], flat[1::2], strict=True))
    stamps = sorted(merged)
    return array("d", stamps), array("d", map(merged.__getitem__, stamps))


def _rollup_bucket(step: int) -> Callable[[float], tuple[float, float]]:
    def bucket_of(ts: float) -> tuple[float, float]:
        start = ts - ts % step  # floor(ts / step) * step
        return start, start + step

    return bucket_of


def _runs(
    stamps: Sequence[float],
    begin: int,
    stop: int,
    bucket_of: Callable[[float], tuple[float, float]],
) -> Iterator[tuple[float, int, int]]:
    """``(bucket, i, j)`` for each run ``stamps[i:j]`` of sorted ``stamps[begin:stop]`` falling
    in one bucket; ``bucket_of(ts)`` gives the bucket of ``ts`` and the ts where it ends."""
    i = begin
    while i < stop:
        bucket, end = bucket_of(stamps[i])
        j = max(bisect_left(stamps, end, i, stop), i + 1)
        yield bucket, i, j
        i = j


def _late_rollup_rows(
    points: Iterable[tuple[int, float, float, float | None]], step: int
) -> list[_RollupRow]:
    """What ``(series id, ts, value, replaced value or None)`` points add to their ``step``
    buckets: count, sum, min, max per (series, bucket), to merge into the stored ones."""
    buckets: dict[tuple[int, float], list[float]] = {}
    for series_id, ts, value, old in points:
        key = (series_id, ts - ts % step)  # floor(ts / step) * step
        count, added = (1, value) if old is None else (0, value - old)
        bucket = buckets.get(key)
        if bucket is None:
            buckets[key] = [count, added, value, value]
        else:
            bucket[0] += count
            bucket[1] += added
            if value < bucket[2]:
                bucket[2] = value
            if value > bucket[3]:
                bucket[3] = value
    return [
        (series_id, step, ts, int(n), total, low, high)
        for (series_id, ts), (n, total, low, high) in buckets.items()
    ]


def _select_chunks() -> sa.Select[Any]:
    """(series id, chunk id, start, end, data) of chunks, ``data`` as the driver returns it
    (no per-row result processing: the downsampling pass reads many rows)."""
    c = metric_chunk.c
    return sa.select(
        c.series_id, c.id, c.start_ts, c.end_ts, sa.type_coerce(c.data, sa.types.NullType())
    )


def _read_watermarks(conn: sa.Connection) -> dict[int, float]:
    """Rollup step → the time before which its buckets are in ``metric_rollup``."""
    query = sa.select(metric_watermark.c.step, metric_watermark.c.rolled_until)
    return {row[0]: row[1] for row in conn.execute(query)}


def _insert(conn: sa.Connection, table: sa.Table) -> sqlite.Insert | postgresql.Insert:
    """An INSERT supporting ON CONFLICT for the connection's dialect."""
    dialect = conn.dialect.name
    if dialect == "sqlite":
        return sqlite.insert(table)
    if dialect == "postgresql":
        return postgresql.insert(table)
    raise StorageError(f"metric series need SQLite or PostgreSQL, not {dialect!r}")


def _driver_sql(
    conn: sa.Connection,
    name: str,
    build: Callable[[sa.Connection], tuple[sa.Insert, tuple[str, ...]]],
) -> str:
    """A statement compiled once per dialect as driver SQL with positional parameters.

    Points are many: executing the compiled text with plain tuples costs a fraction of
    ``conn.execute(statement, rows)``, which builds and processes parameters row by row.
    """
    key = (conn.dialect.name, name)
    sql = _DRIVER_SQL.get(key)
    if sql is None:
        statement, columns = build(conn)
        dialect = conn.dialect
        if not dialect.positional:  # psycopg's default is named: "%(name)s"
            dialect_class: Any = type(dialect)
            dialect = dialect_class(paramstyle="format")
        compiled = statement.compile(dialect=dialect)
        if tuple(compiled.positiontup or ()) != columns:
            raise StorageError(f"unexpected parameter order in {compiled}")
        sql = _DRIVER_SQL[key] = str(compiled)
    return sql


def _insert_series(conn: sa.Connection, rows: list[tuple[Any, ...]]) -> Sequence[Sequence[Any]]:
    """Insert ``(host, service, name, *meta)`` rows, skipping existing series; returns
    ``(id, host, service, name, *meta)`` of the rows inserted. PostgreSQL: binary COPY into a
    temporary table and one INSERT … SELECT (psycopg parses a long multi-row VALUES slowly)."""
    if not _copies(conn):
        insert = (
            _insert(conn, metric_series)
            .on_conflict_do_nothing(index_elements=["host", "service", "name"])
            .returning(*_series_columns())
        )
        params = [dict(zip(_SERIES_COLUMNS, row, strict=True)) for row in rows]
        return conn.execute(insert, params).all()
    columns = ", ".join(_SERIES_COLUMNS)
    dbapi: Any = conn.connection.dbapi_connection
    with dbapi.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {_SERIES_INPUT} ON COMMIT DELETE ROWS "
            f"AS SELECT {columns} FROM metric_series WITH NO DATA"
        )
        with cursor.copy(f"COPY {_SERIES_INPUT} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["text"] * 4 + ["float8"] * 4)
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO metric_series ({columns}) SELECT {columns} FROM {_SERIES_INPUT} "
            "ON CONFLICT (host, service, name) DO NOTHING "
            f"RETURNING id, {columns}"
        )
        inserted: list[Sequence[Any]] = cursor.fetchall()
        cursor.execute(f"DELETE FROM {_SERIES_INPUT}")
    return inserted


def _insert_chunks(conn: sa.Connection, rows: list[_ChunkRow]) -> None:
    """Insert chunk rows: binary COPY on PostgreSQL with psycopg (about 4× faster than its
    executemany), else executemany of the compiled INSERT with plain tuples."""
    if _copies(conn):
        dbapi: Any = conn.connection.dbapi_connection
        with dbapi.cursor() as cursor, cursor.copy(_COPY_CHUNKS) as copy:
            copy.set_types(["int8", "float8", "float8", "int4", "bytea"])
            write_row = copy.write_row
            for row in rows:
                write_row(row)
    else:
        conn.exec_driver_sql(_driver_sql(conn, "chunk", _chunk_insert), rows)


def _copies(conn: sa.Connection) -> bool:
    """Whether bulk writes may use COPY: PostgreSQL through psycopg."""
    return conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg"


def _upsert_rollups(conn: sa.Connection, rows: list[_RollupRow], *, replace: bool = False) -> None:
    """Merge rows (unique per series, step and bucket) into ``metric_rollup``, or with
    ``replace`` overwrite the stored buckets. PostgreSQL: binary COPY into a temporary table,
    then one merging INSERT … SELECT (executemany costs ~40 µs a row there); SQLite:
    executemany of the compiled upsert."""
    if not rows:
        return
    how = "replace" if replace else "merge"
    if not _copies(conn):
        build = _rollup_replace if replace else _rollup_upsert
        conn.exec_driver_sql(_driver_sql(conn, f"rollup-{how}", build), rows)
        return
    dbapi: Any = conn.connection.dbapi_connection
    with dbapi.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {_ROLLUP_INPUT.name} "
            "(LIKE metric_rollup) ON COMMIT DELETE ROWS"
        )
        with cursor.copy(_COPY_ROLLUPS) as copy:
            copy.set_types(["int8", "int4", "float8", "int4", "float8", "float8", "float8"])
            write_row = copy.write_row
            for row in rows:
                write_row(row)
        build = _rollup_replace_input if replace else _rollup_merge
        cursor.execute(_driver_sql(conn, f"rollup-input-{how}", build))
        cursor.execute(f"DELETE FROM {_ROLLUP_INPUT.name}")


def _chunk_insert(conn: sa.Connection) -> tuple[sa.Insert, tuple[str, ...]]:
    values: dict[str, Any] = {column: sa.bindparam(column) for column in _CHUNK_COLUMNS}
    return sa.insert(metric_chunk).inline().values(values), _CHUNK_COLUMNS


def _rollup_upsert(conn: sa.Connection) -> tuple[sa.Insert, tuple[str, ...]]:
    """Merge a bucket into the stored one: counts and sums add up, min/max widen."""
    values: dict[str, Any] = {column: sa.bindparam(column) for column in _ROLLUP_COLUMNS}
    return _merge_rollups(conn, _insert(conn, metric_rollup).values(values)), _ROLLUP_COLUMNS


def _rollup_merge(conn: sa.Connection) -> tuple[sa.Insert, tuple[str, ...]]:
    """Merge every row of the temporary input table (PostgreSQL)."""
    columns = [_ROLLUP_INPUT.c[column] for column in _ROLLUP_COLUMNS]
    insert = _insert(conn, metric_rollup).from_select(list(_ROLLUP_COLUMNS), sa.select(*columns))
    return _merge_rollups(conn, insert), ()


def _rollup_replace(conn: sa.Connection) -> tuple[sa.Insert, tuple[str, ...]]:
    """Write a bucket over the stored one."""
    values: dict[str, Any] = {column: sa.bindparam(column) for column in _ROLLUP_COLUMNS}
    return _replace_rollups(_insert(conn, metric_rollup).values(values)), _ROLLUP_COLUMNS


def _rollup_replace_input(conn: sa.Connection) -> tuple[sa.Insert, tuple[str, ...]]:
    """Write every row of the temporary input table over the stored ones (PostgreSQL)."""
    columns = [_ROLLUP_INPUT.c[column] for column in _ROLLUP_COLUMNS]
    insert = _insert(conn, metric_rollup).from_select(list(_ROLLUP_COLUMNS), sa.select(*columns))
    return _replace_rollups(insert), ()


def _replace_rollups(
    insert: sqlite.Insert | postgresql.Insert,
) -> sqlite.Insert | postgresql.Insert:
    table = metric_rollup.c
    return insert.on_conflict_do_update(
        index_elements=[table.series_id, table.step, table.ts],
        set_={column: insert.excluded[column] for column in ("count", "sum", "min", "max")},
    )


def _merge_rollups(
    conn: sa.Connection, insert: sqlite.Insert | postgresql.Insert
) -> sqlite.Insert | postgresql.Insert:
    sqlite_dialect = conn.dialect.name == "sqlite"
    least = sa.func.min if sqlite_dialect else sa.func.least
    greatest = sa.func.max if sqlite_dialect else sa.func.greatest
    table = metric_rollup.c
    return insert.on_conflict_do_update(
        index_elements=[table.series_id, table.step, table.ts],
        set_={
            "count": table.count + insert.excluded["count"],
            "sum": table.sum + insert.excluded.sum,
            "min": least(table.min, insert.excluded.min),
            "max": greatest(table.max, insert.excluded.max),
        },
    )


def _buckets(start: float, end: float, step: float) -> tuple[float, int]:
    """First bucket start and bucket count, or ValidationError naming the bad parameter."""
    for field, number in (("start", start), ("end", end), ("step", step)):
        if not math.isfinite(number):
            raise ValidationError(f"{field} must be a finite number", loc=(field,))
    if step <= 0:
        raise ValidationError(f"step must be greater than 0, got {step}", loc=("step",))
    if end < start:
        raise ValidationError(f"end {end} is before start {start}", loc=("end",))
    first = math.floor(start / step) * step
    count = math.floor((end - first) / step) + 1
    if count > _MAX_BUCKETS:
        raise ValidationError(
            f"step {step} gives {count} buckets, at most {_MAX_BUCKETS} allowed", loc=("step",)
        )
    return float(first), count


def _stored_series(
    conn: sa.Connection, host: str, service: str, name: str | None
) -> dict[int, tuple[str, _Meta]]:
    where = [metric_series.c.host == host, metric_series.c.service == service]
    if name is not None:
        where.append(metric_series.c.name == name)
    query = sa.select(metric_series.c.id, metric_series.c.name, *_meta_columns()).where(*where)
    return {row[0]: (row[1], _row_meta(row, 2)) for row in conn.execute(query)}


def _aggregate(
    conn: sa.Connection, step: int, series_ids: Iterable[int], buckets: _Buckets, until: float
) -> Iterator[tuple[int, float, float, float]]:
    """(series id, bucket index, sum, count) from the ``step`` rollups before ``until``."""
    table = metric_rollup
    series_id, ts = table.c.series_id, table.c.ts
    offset = (ts - sa.literal(buckets.first, sa.Float)) / sa.literal(buckets.step, sa.Float)
    if conn.dialect.name == "sqlite":
        index: sa.ColumnElement[Any] = sa.cast(offset, sa.Integer)  # truncation: offset >= 0
    else:
        index = sa.func.floor(offset)
    inner = (
        sa.select(
            series_id.label("series_id"),
            index.label("bucket"),
            table.c.sum.label("total"),
            table.c["count"].label("n"),
        )
        .where(
            series_id.in_(sorted(series_ids)),
            table.c.step == step,
            ts >= buckets.first,
            ts < until,
        )
        .subquery()
    )
    query = sa.select(
        inner.c.series_id, inner.c.bucket, sa.func.sum(inner.c.total), sa.func.sum(inner.c.n)
    ).group_by(inner.c.series_id, inner.c.bucket)
    for row in conn.execute(query):
        if 0 <= row[1] < buckets.count:
            yield row[0], row[1], row[2], row[3]


def _chunks(items: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for begin in range(0, len(items), size):
        yield items[begin : begin + size]

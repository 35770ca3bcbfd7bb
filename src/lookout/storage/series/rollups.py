"""Rollups: the downsampling pass that writes ``(count, sum, min, max)`` per series, step and
bucket below each step's watermark, and the merge of late points into buckets already written.
See the package docstring for how a pass is cut into bounded shares and why it is idempotent."""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from lookout.storage.series.points import (
    ChunkRow,
    runs,
    select_chunks,
    series_points,
    unpack,
)
from lookout.storage.series.sql import CHUNK, chunks, copies, dialect_insert, driver_sql
from lookout.storage.tables import metric_chunk, metric_rollup, metric_series, metric_watermark

_RollupRow = tuple[int, int, float, int, float, float, float]  # id, step, ts, n, sum, min, max
ROLLUP_LAG = 120.0  # seconds after its end before a bucket is rolled up (late results)
ROLLUP_ROWS = 20_000
"""Chunks a checkpoint's ``roll_up`` reads at least (unless the pass ends), if it has to."""
_FIRST_BATCH = 32  # series in a roll_up's first batch, before it knows their chunks per series
_ROLLUP_COLUMNS = ("series_id", "step", "ts", "count", "sum", "min", "max")
_ROLLUP_INPUT = sa.table("metric_rollup_input", *(sa.column(c) for c in _ROLLUP_COLUMNS))
"""PostgreSQL: a temporary table (per session, emptied at commit) rollups are copied into."""
_COPY_ROLLUPS = (
    f"COPY {_ROLLUP_INPUT.name} ({', '.join(_ROLLUP_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
)


@dataclass(frozen=True, slots=True)
class LateMark:
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


class Downsampler:
    """The pass under way, if any, for the rollup ``steps`` (in memory only: a pass cut short
    is started again and writes the same buckets)."""

    def __init__(self, steps: tuple[int, ...]) -> None:
        self.steps = steps
        self._pass: _Pass | None = None
        self._next_pass = -math.inf  # no step can move before this time

    def reset(self) -> None:
        """Forget the pass under way (its writes may have been rolled back)."""
        self._pass = None
        self._next_pass = -math.inf

    def prepare_late(self, conn: sa.Connection, rows: list[ChunkRow]) -> LateMerge | None:
        """Before ``rows`` are inserted: which of their points are already rolled up, with the
        stored values they replace (read now, before the new chunks hide them)."""
        marks = self._late_marks(read_watermarks(conn))
        highest = max((mark.highest for mark in marks.values()), default=-math.inf)
        late = [row for row in rows if row[1] < highest]
        if not late:
            return None
        return LateMerge(late, marks, stored_points(conn, late, highest))

    def _late_marks(self, marks: dict[int, float]) -> dict[int, LateMark]:
        """Per step, the time before which a point of a series is already rolled up: the
        watermark, or the new one of a pass under way for the series it has done."""
        out: dict[int, LateMark] = {}
        moving = self._pass.moves if self._pass is not None else {}
        done = self._pass.done_through if self._pass is not None else -1
        for step in self.steps:
            mark = marks.get(step, -math.inf)
            new = moving[step][1] if step in moving else mark
            late = LateMark(mark, new, done)
            if late.highest > -math.inf:
                out[step] = late
        return out

    def advance(self, conn: sa.Connection, now: float, budget: float) -> bool:
        """Pass on in batches of series sized to read about ``budget`` chunks in all; returns
        whether every complete bucket is rolled up."""
        size = CHUNK if budget == math.inf else max(1, min(_FIRST_BATCH, int(budget)))
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
                save_watermarks(conn, {step: new for step, (_, new) in run.moves.items()})
                self._pass = None
                continue
            read = _downsample(conn, batch, run.moves, self.steps)
            run.done_through = batch[-1]
            budget -= max(read, 1)
            per_series = max(read / len(batch), 1.0)
            size = CHUNK if budget == math.inf else max(1, min(CHUNK, int(budget / per_series)))
        return False

    def _start_pass(self, conn: sa.Connection, now: float) -> _Pass | None:
        """A pass to the watermarks of ``now`` (the steps that move), or None."""
        marks = read_watermarks(conn)
        moves: dict[int, tuple[float, float]] = {}  # step → (old, new) watermark
        soonest = math.inf
        for step in self.steps:
            target = float(math.floor((now - ROLLUP_LAG) / step) * step)
            old = marks.get(step, -math.inf)
            if target > old:
                moves[step] = (old, target)
            soonest = min(soonest, max(old, target) + step + ROLLUP_LAG)
        self._next_pass = soonest
        return _Pass(moves) if moves else None


@dataclass(frozen=True, slots=True)
class LateMerge:
    """Late points to merge into their rollups once their chunks are inserted."""

    rows: list[ChunkRow]
    marks: dict[int, LateMark]
    stored: dict[int, tuple[array[float], array[float]]]

    def apply(self, conn: sa.Connection) -> None:
        _merge_late(conn, self.rows, self.marks, self.stored)


def stored_points(
    conn: sa.Connection, rows: list[ChunkRow], until: float
) -> dict[int, tuple[array[float], array[float]]]:
    """The stored points (the later chunk's value for a repeated ts) of the series of
    ``rows`` from their first point to ``until``: what a late point may replace."""
    chunk = metric_chunk.c
    out: dict[int, tuple[array[float], array[float]]] = {}
    for batch in chunks(rows, CHUNK):
        query = (
            select_chunks()
            .where(
                chunk.series_id.in_([row[0] for row in batch]),
                chunk.end_ts >= min(row[1] for row in batch),
                chunk.start_ts < until,
            )
            .order_by(chunk.series_id, chunk.end_ts, chunk.id)
        )
        for series_id, stamps, values in series_points(conn.execute(query)):
            out[series_id] = (stamps, values)
    return out


def _merge_late(
    conn: sa.Connection,
    rows: list[ChunkRow],
    marks: dict[int, LateMark],
    stored: dict[int, tuple[array[float], array[float]]],
) -> None:
    """Merge the points already rolled up for a step into that step's buckets: a new point
    adds to count and sum; one replacing a stored point adds the difference to the sum."""
    points: list[tuple[int, float, float, float | None]] = []
    for series_id, _, _, _, data in rows:
        stamps, values = stored.get(series_id, (array("d"), array("d")))
        flat = unpack(data)
        for i in range(0, len(flat), 2):
            ts = flat[i]
            j = bisect_left(stamps, ts)
            old = values[j] if j < len(stamps) and stamps[j] == ts else None
            points.append((series_id, ts, flat[i + 1], old))
    for step, mark in marks.items():
        due = [p for p in points if p[1] < mark.of(p[0])]
        _upsert_rollups(conn, _late_rollup_rows(due, step))


def _downsample(
    conn: sa.Connection,
    batch: Sequence[int],
    moves: dict[int, tuple[float, float]],
    steps: Sequence[int],
) -> int:
    """Roll up the points of ``batch`` series between each moving step's old and new
    watermark into ``(count, sum, min, max)`` rows, replacing those buckets (a pass cut short
    before may have written them): from the chunks, or for a step that is a multiple of a
    finer one from that step's rollups (12 rows an hour instead of every chunk; the finer
    step's rollups reach at least as far, its watermark being computed for the same time).
    Returns the number of chunks read."""
    finer = _finer_steps(steps)
    from_chunks = {step: move for step, move in moves.items() if step not in finer}
    read = _downsample_chunks(conn, batch, from_chunks) if from_chunks else 0
    for step in sorted(step for step in moves if step in finer):
        old, new = moves[step]
        _upsert_rollups(conn, _coarser(conn, batch, finer[step], step, old, new), replace=True)
    return read


def _finer_steps(steps: Sequence[int]) -> dict[int, int]:
    """Step → the largest smaller step it is a multiple of (steps without one: absent)."""
    out: dict[int, int] = {}
    for step in steps:
        divisors = [finer for finer in steps if finer < step and step % finer == 0]
        if divisors:
            out[step] = max(divisors)
    return out


def _downsample_chunks(
    conn: sa.Connection, batch: Sequence[int], moves: dict[int, tuple[float, float]]
) -> int:
    low = min(old for old, _ in moves.values())
    high = max(new for _, new in moves.values())
    chunk = metric_chunk.c
    where = [chunk.series_id.in_(batch), chunk.start_ts < high]
    if low > -math.inf:
        where.append(chunk.end_ts >= low)
    query = select_chunks().where(*where).order_by(chunk.series_id, chunk.end_ts, chunk.id)
    out: list[_RollupRow] = []
    steps = [(step, old, new, _rollup_bucket(step)) for step, (old, new) in moves.items()]
    chunks = conn.execute(query).all()
    for series_id, stamps, values in series_points(chunks):
        for step, old, new, bucket_of in steps:
            begin, stop = bisect_left(stamps, old), bisect_left(stamps, new)
            for bucket, i, j in runs(stamps, begin, stop, bucket_of):
                part = values[i:j]
                out.append((series_id, step, bucket, j - i, sum(part), min(part), max(part)))
    _upsert_rollups(conn, out, replace=True)
    return len(chunks)


def _coarser(
    conn: sa.Connection, batch: Sequence[int], finer: int, step: int, old: float, new: float
) -> list[_RollupRow]:
    """The ``step`` buckets in [old, new) of ``batch`` series, from their ``finer`` ones."""
    r = metric_rollup.c
    where = [r.series_id.in_(batch), r.step == finer, r.ts < new]
    if old > -math.inf:
        where.append(r.ts >= old)
    query = (
        sa.select(r.series_id, r.ts, r["count"], r.sum, r.min, r.max)
        .where(*where)
        .order_by(r.series_id, r.ts)
    )
    buckets: dict[tuple[int, float], list[float]] = {}
    for series_id, ts, count, total, low, high in conn.execute(query):
        key = (series_id, ts - ts % step)
        bucket = buckets.get(key)
        if bucket is None:
            buckets[key] = [count, total, low, high]
        else:
            bucket[0] += count
            bucket[1] += total
            bucket[2] = min(bucket[2], low)
            bucket[3] = max(bucket[3], high)
    return [
        (series_id, step, ts, int(n), total, low, high)
        for (series_id, ts), (n, total, low, high) in buckets.items()
    ]


def read_watermarks(conn: sa.Connection) -> dict[int, float]:
    """Rollup step → the time before which its buckets are in ``metric_rollup``."""
    query = sa.select(metric_watermark.c.step, metric_watermark.c.rolled_until)
    return {row[0]: row[1] for row in conn.execute(query)}


def save_watermarks(conn: sa.Connection, marks: dict[int, float]) -> None:
    insert = dialect_insert(conn, metric_watermark)
    upsert = insert.on_conflict_do_update(
        index_elements=[metric_watermark.c.step],
        set_={"rolled_until": insert.excluded.rolled_until},
    )
    conn.execute(upsert, [{"step": s, "rolled_until": m} for s, m in sorted(marks.items())])


def _rollup_bucket(step: int) -> Callable[[float], tuple[float, float]]:
    def bucket_of(ts: float) -> tuple[float, float]:
        start = ts - ts % step  # floor(ts / step) * step
        return start, start + step

    return bucket_of


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


def _upsert_rollups(conn: sa.Connection, rows: list[_RollupRow], *, replace: bool = False) -> None:
    """Merge rows (unique per series, step and bucket) into ``metric_rollup``, or with
    ``replace`` overwrite the stored buckets. PostgreSQL: binary COPY into a temporary table,
    then one merging INSERT … SELECT (executemany costs ~40 µs a row there); SQLite:
    executemany of the compiled upsert."""
    if not rows:
        return
    how = "replace" if replace else "merge"
    if not copies(conn):
        build = _rollup_replace if replace else _rollup_upsert
        conn.exec_driver_sql(driver_sql(conn, f"rollup-{how}", build), rows)
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
        cursor.execute(driver_sql(conn, f"rollup-input-{how}", build))
        cursor.execute(f"DELETE FROM {_ROLLUP_INPUT.name}")


def _rollup_upsert(conn: sa.Connection) -> tuple[sa.Insert, tuple[str, ...]]:
    """Merge a bucket into the stored one: counts and sums add up, min/max widen."""
    values: dict[str, Any] = {column: sa.bindparam(column) for column in _ROLLUP_COLUMNS}
    return _merge_rollups(conn, dialect_insert(conn, metric_rollup).values(values)), _ROLLUP_COLUMNS


def _rollup_merge(conn: sa.Connection) -> tuple[sa.Insert, tuple[str, ...]]:
    """Merge every row of the temporary input table (PostgreSQL)."""
    columns = [_ROLLUP_INPUT.c[column] for column in _ROLLUP_COLUMNS]
    insert = dialect_insert(conn, metric_rollup).from_select(
        list(_ROLLUP_COLUMNS), sa.select(*columns)
    )
    return _merge_rollups(conn, insert), ()


def _rollup_replace(conn: sa.Connection) -> tuple[sa.Insert, tuple[str, ...]]:
    """Write a bucket over the stored one."""
    values: dict[str, Any] = {column: sa.bindparam(column) for column in _ROLLUP_COLUMNS}
    return _replace_rollups(dialect_insert(conn, metric_rollup).values(values)), _ROLLUP_COLUMNS


def _rollup_replace_input(conn: sa.Connection) -> tuple[sa.Insert, tuple[str, ...]]:
    """Write every row of the temporary input table over the stored ones (PostgreSQL)."""
    columns = [_ROLLUP_INPUT.c[column] for column in _ROLLUP_COLUMNS]
    insert = dialect_insert(conn, metric_rollup).from_select(
        list(_ROLLUP_COLUMNS), sa.select(*columns)
    )
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

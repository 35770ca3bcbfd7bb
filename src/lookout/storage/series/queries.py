"""Queries: average values per bucket of a time range, from rollups below their watermark, chunks
after it, and points not yet in the database (the store's buffers)."""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import msgspec
import sqlalchemy as sa

from lookout.errors import ValidationError
from lookout.storage.series.points import (
    Entry,
    Meta,
    meta_columns,
    meta_of,
    row_meta,
    runs,
    select_chunks,
    series_points,
)
from lookout.storage.series.rollups import read_watermarks
from lookout.storage.series.sql import CHUNK, chunks
from lookout.storage.tables import metric_chunk, metric_rollup, metric_series

_MAX_BUCKETS = 10_000


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
class Buckets:
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


def bucket_range(start: float, end: float, step: float) -> tuple[float, int]:
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


def stored_series(
    conn: sa.Connection, host: str, service: str, name: str | None
) -> dict[int, tuple[str, Meta]]:
    where = [metric_series.c.host == host, metric_series.c.service == service]
    if name is not None:
        where.append(metric_series.c.name == name)
    query = sa.select(metric_series.c.id, metric_series.c.name, *meta_columns()).where(*where)
    return {row[0]: (row[1], row_meta(row, 2)) for row in conn.execute(query)}


def fill_from_db(
    conn: sa.Connection,
    steps: tuple[int, ...],
    stored: dict[int, tuple[str, Meta]],
    buckets: Buckets,
    sums: dict[str, tuple[list[float], list[int]]],
) -> None:
    """Add stored points: for each series the rollups of the largest step ≤ the query step
    that has rows in range (else of a finer one) below that step's watermark, and chunk
    points from there on (series without any such rollup: chunk points only)."""
    split: dict[int, float] = {}  # series id → watermark of the rollups used
    sources = [source for source in reversed(steps) if source <= buckets.step]
    marks = read_watermarks(conn) if sources else {}
    remaining = set(stored)
    for source in sources:
        mark = marks.get(source)
        if mark is None:
            continue
        until = min(mark, buckets.limit)
        if until <= buckets.first or not remaining:
            break
        found: set[int] = set()
        for series_id, index, total, count in _aggregate(conn, source, remaining, buckets, until):
            found.add(series_id)
            values, counts = sums[stored[series_id][0]]
            values[int(index)] += total
            counts[int(index)] += int(count)
        split.update(dict.fromkeys(found, mark))
        remaining -= found
    _fill_from_chunks(conn, stored, split, buckets, sums)


def _fill_from_chunks(
    conn: sa.Connection,
    stored: dict[int, tuple[str, Meta]],
    split: dict[int, float],
    buckets: Buckets,
    sums: dict[str, tuple[list[float], list[int]]],
) -> None:
    """Add chunk points in range at or after each series' ``split`` time."""
    chunk = metric_chunk.c
    low = max(buckets.first, min(split.get(series_id, -math.inf) for series_id in stored))
    bucket_of = buckets.bucket_of
    for batch in chunks(sorted(stored), CHUNK):
        query = (
            select_chunks()
            .where(
                chunk.series_id.in_(batch),
                chunk.end_ts >= low,
                chunk.start_ts < buckets.limit,
            )
            .order_by(chunk.series_id, chunk.end_ts, chunk.id)
        )
        for series_id, stamps, points in series_points(conn.execute(query)):
            values, counts = sums[stored[series_id][0]]
            begin = max(buckets.first, split.get(series_id, -math.inf))
            start, stop = bisect_left(stamps, begin), bisect_left(stamps, buckets.limit)
            for index, i, j in runs(stamps, start, stop, bucket_of):
                values[int(index)] += sum(points[i:j])
                counts[int(index)] += j - i


def _aggregate(
    conn: sa.Connection, step: int, series_ids: Iterable[int], buckets: Buckets, until: float
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


def fill_from_entries(
    entries: list[Entry],
    host: str,
    service: str,
    name: str | None,
    buckets: Buckets,
    sums: dict[str, tuple[list[float], list[int]]],
    metas: dict[str, Meta],
) -> None:
    for entry_host, entry_service, metrics, ts in entries:
        if entry_host != host or entry_service != service:
            continue
        for metric in metrics:
            if name is not None and metric.name != name:
                continue
            metas[metric.name] = meta_of(metric)
            values, counts = sums.setdefault(metric.name, buckets.empty())
            index = buckets.index(ts)
            if index is not None and metric.value - metric.value == 0.0:
                values[index] += metric.value
                counts[index] += 1

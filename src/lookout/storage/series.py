"""Metric time series: raw recent points plus rollups, each kept for a fixed time.

Size is bounded by time, not by count:

* ``metric_raw`` holds at most ``raw_seconds / min_interval`` rows per series (a point per
  check result; duplicate ``(series, ts)`` are upserted), e.g. 2 days at a 10 s interval is
  17,280 rows;
* ``metric_rollup`` holds at most ``keep / step`` rows per series and step whatever the check
  interval, e.g. 40 days of 5 min buckets = 11,520 and 400 days of 1 h buckets = 9,600;
* series rows exist for configured objects' metrics: ``forget`` removes a deleted service's
  or host's series, and ``prune`` drops series left without any point (metrics that stopped).

So the database stays within ``series × (raw_seconds / min_interval + Σ keep / step)`` rows.
In memory the store keeps one dict entry per series (key tuple of interned strings → id packed
with a fingerprint of the stored unit/thresholds, well under 200 bytes per series) and the
points added since the last ``take_pending`` (flush interval × result rate).

Threads: ``add`` and ``take_pending`` run in the asyncio thread; ``write_pending``, ``load``,
``prune`` and ``forget`` run in the single writer thread inside the caller's transaction
(never committed here). If that transaction rolls back, call ``load`` again before the next
``write_pending``: series ids remembered meanwhile may not exist. ``query`` may run in any
thread; it reads the pending buffer without locking (appends are atomic under the GIL).

Known limits: points between ``take_pending`` and the writer's commit are invisible to
``query``; a ``(series, ts)`` written again in a later flush replaces the raw value but is
counted twice in the rollups; ``forget`` does not touch the pending buffer, so results still
buffered for a forgotten object create its series again.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from lookout.domain.metrics import Metric
from lookout.errors import ConfigError, StorageError, ValidationError
from lookout.storage.tables import metric_raw, metric_rollup, metric_series

__all__ = ["PendingPoints", "SeriesData", "SeriesKey", "SeriesRetention", "SeriesStore"]

SeriesKey = tuple[str, str, str]
"""(host, service, metric name)."""

_Entry = tuple[str, str, tuple[Metric, ...], float]
_Meta = tuple[str, float | None, float | None, float | None, float | None]
_T = TypeVar("_T")

_ID_BITS = 40
_ID_MASK = (1 << _ID_BITS) - 1
_FINGERPRINT_MASK = 0xFFFFFFFF
_CHUNK = 300  # keys or ids per IN list: stays below SQLite's 999 bound parameters
_MAX_BUCKETS = 10_000
_NAME_LENGTH = 255  # metric_series host/service/name columns
_UNIT_LENGTH = 16  # metric_series.unit
_RAW = 0  # source "step" meaning metric_raw
_UPSERT_SQL: dict[tuple[str, bool], str] = {}  # (dialect, raw?) → compiled upsert


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


class SeriesStore:
    """Buffers metric points in memory and writes them as raw points and rollups."""

    def __init__(self, retention: SeriesRetention | None = None) -> None:
        self.retention = retention or SeriesRetention()
        self._steps = tuple(step for step, _ in self.retention.rollups)
        self._pending: list[_Entry] = []
        self._ids: dict[SeriesKey, int] = {}  # key → fingerprint << _ID_BITS | series id

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

    def take_pending(self) -> PendingPoints:
        """Hand the buffered points over for writing and start a new buffer."""
        entries, self._pending = self._pending, []
        return PendingPoints(entries)

    # ---- writer thread --------------------------------------------------------------------

    def load(self, conn: sa.Connection) -> None:
        """Read the ids (and stored unit/thresholds) of every series."""
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
        """Write ``pending`` in the caller's transaction: series rows, raw points, rollups."""
        if not pending.entries:
            return
        latest = _latest_metrics(pending.entries)
        self._create_series(conn, [key for key in latest if key not in self._ids], latest)
        self._update_series(conn, latest)
        raw = self._raw_points(pending.entries)
        if not raw:
            return
        rows = [{"series_id": sid, "ts": ts, "value": value} for (sid, ts), value in raw.items()]
        conn.exec_driver_sql(_upsert_sql(conn, _RAW), rows)
        for step in self._steps:
            conn.exec_driver_sql(_upsert_sql(conn, step), _rollup_rows(raw, step))

    def prune(self, conn: sa.Connection, now: float) -> int:
        """Delete points older than their retention and series left without points.
        Returns the number of point rows deleted."""
        raw_cut = now - self.retention.raw_seconds
        old_rollup = sa.or_(
            metric_rollup.c.step.not_in(self._steps),
            *(
                sa.and_(metric_rollup.c.step == step, metric_rollup.c.ts < now - keep)
                for step, keep in self.retention.rollups
            ),
        )
        deleted = 0
        ids = conn.execute(sa.select(metric_series.c.id)).scalars().all()
        for chunk in _chunks(ids, _CHUNK):
            raw = sa.delete(metric_raw).where(
                metric_raw.c.series_id.in_(chunk), metric_raw.c.ts < raw_cut
            )
            rollup = sa.delete(metric_rollup).where(
                metric_rollup.c.series_id.in_(chunk), old_rollup
            )
            deleted += conn.execute(raw).rowcount + conn.execute(rollup).rowcount
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
        stored = _stored_series(conn, host, service, name)
        sums = {series_name: buckets.empty() for series_name, _ in stored.values()}
        self._fill_from_db(conn, stored, buckets, sums)
        metas = {series_name: meta for series_name, meta in stored.values()}
        self._fill_from_pending(host, service, name, buckets, sums, metas)
        return [
            SeriesData(series_name, *metas[series_name], points=buckets.points(*sums[series_name]))
            for series_name in sorted(sums)
        ]

    # ---- helpers --------------------------------------------------------------------------

    def _create_series(
        self, conn: sa.Connection, keys: list[SeriesKey], latest: dict[SeriesKey, Metric]
    ) -> None:
        """Insert rows for new series (skipping names too long to store) and learn their ids."""
        keys = [key for key in keys if max(map(len, key)) <= _NAME_LENGTH]
        if not keys:
            return
        rows = [
            dict(zip(_SERIES_COLUMNS, (*key, *_meta(latest[key])), strict=True)) for key in keys
        ]
        insert = _insert(conn, metric_series).on_conflict_do_nothing(
            index_elements=["host", "service", "name"]
        )
        conn.execute(insert, rows)
        columns = (metric_series.c.host, metric_series.c.service, metric_series.c.name)
        for chunk in _chunks(keys, _CHUNK):
            query = sa.select(metric_series.c.id, *columns, *_meta_columns()).where(
                sa.tuple_(*columns).in_(chunk)
            )
            for row in conn.execute(query):
                _remember(self._ids, row)

    def _update_series(self, conn: sa.Connection, latest: dict[SeriesKey, Metric]) -> None:
        """Store changed unit/thresholds; a fingerprint per series avoids needless updates."""
        ids = self._ids
        rows: list[dict[str, Any]] = []
        for key, metric in latest.items():
            packed = ids.get(key)
            if packed is None:
                continue
            meta = _meta(metric)
            fingerprint = _fingerprint(meta)
            if packed >> _ID_BITS != fingerprint:
                series_id = packed & _ID_MASK
                ids[key] = fingerprint << _ID_BITS | series_id
                rows.append({"b_id": series_id, **dict(zip(_META_NAMES, meta, strict=True))})
        if rows:
            update = (
                sa.update(metric_series)
                .where(metric_series.c.id == sa.bindparam("b_id"))
                .values({column: sa.bindparam(column) for column in _META_NAMES})
            )
            conn.execute(update, rows)

    def _raw_points(self, entries: list[_Entry]) -> dict[tuple[int, float], float]:
        """(series id, ts) → value, later entries winning; unknown series and non-finite
        values are left out."""
        ids = self._ids
        raw: dict[tuple[int, float], float] = {}
        for host, service, metrics, ts in entries:
            for metric in metrics:
                packed = ids.get((host, service, metric.name))
                value = metric.value
                if packed is not None and value - value == 0.0:
                    raw[packed & _ID_MASK, ts] = value
        return raw

    def _drop_empty_series(self, conn: sa.Connection) -> None:
        series_id = metric_series.c.id
        query = sa.select(
            series_id, metric_series.c.host, metric_series.c.service, metric_series.c.name
        ).where(
            ~sa.exists().where(metric_raw.c.series_id == series_id),
            ~sa.exists().where(metric_rollup.c.series_id == series_id),
        )
        self._delete_series(conn, [(row[0], row[1], row[2], row[3]) for row in conn.execute(query)])

    def _delete_series(self, conn: sa.Connection, rows: list[tuple[int, str, str, str]]) -> None:
        """Delete the series ``(id, host, service, name)`` rows, their points and ids."""
        for chunk in _chunks([row[0] for row in rows], _CHUNK):
            conn.execute(sa.delete(metric_raw).where(metric_raw.c.series_id.in_(chunk)))
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
        """Add stored points, trying the chosen source first and finer ones for series that
        have nothing there (e.g. rollups configured after the points were written)."""
        remaining = set(stored)
        for source in self._sources(buckets.step):
            if not remaining:
                break
            found: set[int] = set()
            for series_id, index, total, count in _aggregate(conn, source, remaining, buckets):
                found.add(series_id)
                values, counts = sums[stored[series_id][0]]
                values[int(index)] += total
                counts[int(index)] += int(count)
            remaining -= found

    def _sources(self, step: float) -> list[int]:
        """The largest rollup step ≤ ``step``, then the finer ones, then raw."""
        return [*(source for source in reversed(self._steps) if source <= step), _RAW]

    def _fill_from_pending(
        self,
        host: str,
        service: str,
        name: str | None,
        buckets: _Buckets,
        sums: dict[str, tuple[list[float], list[int]]],
        metas: dict[str, _Meta],
    ) -> None:
        for entry_host, entry_service, metrics, ts in self._pending:
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

    def points(self, values: list[float], counts: list[int]) -> list[tuple[float, float | None]]:
        return [
            (self.first + i * self.step, values[i] / counts[i] if counts[i] else None)
            for i in range(self.count)
        ]


_META_NAMES = ("unit", "warn", "crit", "min", "max")
_SERIES_COLUMNS = ("host", "service", "name", *_META_NAMES)


def _meta_columns() -> list[sa.Column[Any]]:
    return [metric_series.c[column] for column in _META_NAMES]


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


def _latest_metrics(entries: list[_Entry]) -> dict[SeriesKey, Metric]:
    latest: dict[SeriesKey, Metric] = {}
    for host, service, metrics, _ in entries:
        for metric in metrics:
            latest[host, service, metric.name] = metric
    return latest


def _rollup_rows(raw: dict[tuple[int, float], float], step: int) -> list[dict[str, Any]]:
    """Aggregate points into ``step`` buckets: count, sum, min, max per (series, bucket)."""
    buckets: dict[tuple[int, float], list[float]] = {}
    for (series_id, ts), value in raw.items():
        key = (series_id, ts - ts % step)  # floor(ts / step) * step
        bucket = buckets.get(key)
        if bucket is None:
            buckets[key] = [1, value, value, value]
        else:
            bucket[0] += 1
            bucket[1] += value
            if value < bucket[2]:
                bucket[2] = value
            if value > bucket[3]:
                bucket[3] = value
    return [
        {"series_id": sid, "step": step, "ts": ts, "count": int(n), "sum": s, "min": lo, "max": hi}
        for (sid, ts), (n, s, lo, hi) in buckets.items()
    ]


def _insert(conn: sa.Connection, table: sa.Table) -> sqlite.Insert | postgresql.Insert:
    """An INSERT supporting ON CONFLICT for the connection's dialect."""
    dialect = conn.dialect.name
    if dialect == "sqlite":
        return sqlite.insert(table)
    if dialect == "postgresql":
        return postgresql.insert(table)
    raise StorageError(f"metric series need SQLite or PostgreSQL, not {dialect!r}")


def _upsert_sql(conn: sa.Connection, source: int) -> str:
    """The raw (``source`` 0) or rollup upsert as driver SQL with named parameters.

    Points are many: executing the compiled text directly halves the cost per row compared
    with ``conn.execute(statement, rows)``, which builds parameters row by row.
    """
    key = (conn.dialect.name, source == _RAW)
    sql = _UPSERT_SQL.get(key)
    if sql is None:
        statement = _raw_upsert(conn) if source == _RAW else _rollup_upsert(conn)
        dialect = conn.dialect
        if dialect.positional:  # SQLite's "?" style would need tuples instead of dicts
            dialect_class: Any = type(dialect)
            dialect = dialect_class(paramstyle="named")
        sql = _UPSERT_SQL[key] = str(statement.compile(dialect=dialect))
    return sql


def _raw_upsert(conn: sa.Connection) -> sa.Insert:
    insert = _insert(conn, metric_raw)
    return insert.on_conflict_do_update(
        index_elements=[metric_raw.c.series_id, metric_raw.c.ts],
        set_={"value": insert.excluded.value},
    )


def _rollup_upsert(conn: sa.Connection) -> sa.Insert:
    """Merge a bucket into the stored one: counts and sums add up, min/max widen."""
    insert = _insert(conn, metric_rollup)
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
    conn: sa.Connection, source: int, series_ids: Iterable[int], buckets: _Buckets
) -> Iterator[tuple[int, float, float, float]]:
    """(series id, bucket index, sum of values, number of values) from one source table."""
    table = metric_raw if source == _RAW else metric_rollup
    series_id, ts = table.c.series_id, table.c.ts
    where: list[sa.ColumnElement[bool]] = [series_id.in_(list(series_ids))]
    total: sa.ColumnElement[Any]
    count: sa.ColumnElement[Any]
    if source == _RAW:
        total, count = table.c.value, sa.literal(1)
    else:
        total, count = table.c.sum, table.c["count"]
        where.append(table.c.step == source)
    offset = (ts - sa.literal(buckets.first, sa.Float)) / sa.literal(buckets.step, sa.Float)
    if conn.dialect.name == "sqlite":
        index: sa.ColumnElement[Any] = sa.cast(offset, sa.Integer)  # truncation: offset >= 0
    else:
        index = sa.func.floor(offset)
    inner = (
        sa.select(
            series_id.label("series_id"),
            index.label("bucket"),
            total.label("total"),
            count.label("n"),
        )
        .where(*where, ts >= buckets.first, ts < buckets.limit)
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

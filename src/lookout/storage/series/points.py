"""Raw points: the buffer's entries grouped per series, packed into chunk rows (little-endian
float64 ``(ts, value)`` pairs), series rows and their ids, and chunks read back as sorted points."""

from __future__ import annotations

import math
import struct
import sys
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from operator import lt
from typing import Any

import sqlalchemy as sa

from lookout.domain.metrics import Metric
from lookout.errors import StorageError
from lookout.storage.series.sql import CHUNK, chunks, copies, dialect_insert, driver_sql
from lookout.storage.tables import metric_chunk, metric_series

SeriesKey = tuple[str, str, str]
"""(host, service, metric name)."""

Entry = tuple[str, str, tuple[Metric, ...], float]
Meta = tuple[str, float | None, float | None, float | None, float | None]
ChunkRow = tuple[int, float, float, int, bytes]  # series id, start, end, count, data

ID_BITS = 40
_ID_MASK = (1 << ID_BITS) - 1
_FINGERPRINT_MASK = 0xFFFFFFFF
NAME_LENGTH = 255  # metric_series host/service/name columns
_UNIT_LENGTH = 16  # metric_series.unit
_LITTLE_ENDIAN = sys.byteorder == "little"
_CHUNK_COLUMNS = ("series_id", "start_ts", "end_ts", "count", "data")
_STRUCT_SIZES = 128  # floats: chunks of up to 64 points are packed with a cached Struct
_STRUCTS: dict[int, struct.Struct] = {}
_PAIR = struct.Struct("<2d")
_COPY_CHUNKS = f"COPY metric_chunk ({', '.join(_CHUNK_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
_SERIES_INPUT = "metric_series_input"  # PostgreSQL: temporary table new series are copied into
META_NAMES = ("unit", "warn", "crit", "min", "max")
_SERIES_COLUMNS = ("host", "service", "name", *META_NAMES)


class PendingPoints:
    """Points added since the last ``take_pending``: ``(host, service, metrics, ts)`` entries."""

    __slots__ = ("entries",)

    def __init__(self, entries: list[Entry] | None = None) -> None:
        self.entries: list[Entry] = [] if entries is None else entries

    def __len__(self) -> int:
        return len(self.entries)

    def point_count(self) -> int:
        return sum(len(metrics) for _, _, metrics, _ in self.entries)


def create_series(
    conn: sa.Connection,
    ids: dict[SeriesKey, int],
    keys: list[SeriesKey],
    groups: dict[SeriesKey, list[Any]],
) -> None:
    """Insert rows for new series (skipping names too long to store) and learn their ids:
    from RETURNING for the rows inserted, by host for rows that existed already."""
    keys = [key for key in keys if max(map(len, key)) <= NAME_LENGTH]
    if not keys:
        return
    for row in insert_series(conn, [(*key, *meta_of(groups[key][0])) for key in keys]):
        remember(ids, row)
    missing = [key for key in keys if key not in ids]
    wanted = set(missing)
    for hosts in chunks(sorted({host for host, _, _ in missing}), CHUNK):
        query = sa.select(*series_columns()).where(metric_series.c.host.in_(hosts))
        for row in conn.execute(query):
            if (row[1], row[2], row[3]) in wanted:
                remember(ids, row)


def chunk_rows(
    ids: dict[SeriesKey, int], groups: dict[SeriesKey, list[Any]]
) -> tuple[list[ChunkRow], list[dict[str, Any]]]:
    """One chunk row per known series with points (sorted by ts, later duplicates
    winning) and the metric_series updates for changed unit/thresholds (a fingerprint per
    series avoids needless updates). Hot loop: few allocations per series."""
    rows: list[ChunkRow] = []
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
        if packed >> ID_BITS != fingerprint:  # changed, or stored normalized
            meta = meta_of(metric)
            fingerprint = fingerprint_of(meta)
            if packed >> ID_BITS != fingerprint:
                ids[key] = fingerprint << ID_BITS | series_id
                updates.append({"b_id": series_id, **dict(zip(META_NAMES, meta, strict=True))})
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


def meta_columns() -> list[sa.Column[Any]]:
    return [metric_series.c[column] for column in META_NAMES]


def series_columns() -> list[sa.Column[Any]]:
    """id, host, service, name and the meta columns: what ``remember`` takes."""
    c = metric_series.c
    return [c.id, c.host, c.service, c.name, *meta_columns()]


def _finite(number: float | None) -> float | None:
    return number if number is not None and math.isfinite(number) else None


def meta_of(metric: Metric) -> Meta:
    """The unit and thresholds of ``metric`` as stored (unit cut to the column size)."""
    return (
        metric.unit[:_UNIT_LENGTH],
        _finite(metric.warn),
        _finite(metric.crit),
        _finite(metric.min),
        _finite(metric.max),
    )


def fingerprint_of(meta: Meta) -> int:
    return hash(meta) & _FINGERPRINT_MASK


def remember(ids: dict[SeriesKey, int], row: Sequence[Any]) -> None:
    """Store an ``(id, host, service, name, *meta)`` row in ``ids``, strings interned: host,
    service and metric names repeat across series."""
    series_id, host, service, name = row[0], row[1], row[2], row[3]
    if series_id > _ID_MASK:
        raise StorageError(f"metric series id {series_id} does not fit in {ID_BITS} bits")
    key = (sys.intern(host), sys.intern(service), sys.intern(name))
    ids[key] = fingerprint_of(row_meta(row, 4)) << ID_BITS | series_id


def row_meta(row: Sequence[Any], offset: int) -> Meta:
    return (row[offset], row[offset + 1], row[offset + 2], row[offset + 3], row[offset + 4])


def group_points(entries: list[Entry]) -> dict[SeriesKey, list[Any]]:
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


def unpack(data: bytes) -> array[float]:
    flat = array("d")
    flat.frombytes(data)
    if not _LITTLE_ENDIAN:
        flat.byteswap()
    return flat


def series_points(
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
    flat = unpack(b"".join(blobs))
    if ordered:
        return flat[0::2], flat[1::2]
    merged = dict(zip(flat[0::2], flat[1::2], strict=True))
    stamps = sorted(merged)
    return array("d", stamps), array("d", map(merged.__getitem__, stamps))


def runs(
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


def select_chunks() -> sa.Select[Any]:
    """(series id, chunk id, start, end, data) of chunks, ``data`` as the driver returns it
    (no per-row result processing: the downsampling pass reads many rows)."""
    c = metric_chunk.c
    return sa.select(
        c.series_id, c.id, c.start_ts, c.end_ts, sa.type_coerce(c.data, sa.types.NullType())
    )


def insert_series(conn: sa.Connection, rows: list[tuple[Any, ...]]) -> Sequence[Sequence[Any]]:
    """Insert ``(host, service, name, *meta)`` rows, skipping existing series; returns
    ``(id, host, service, name, *meta)`` of the rows inserted. PostgreSQL: binary COPY into a
    temporary table and one INSERT … SELECT (psycopg parses a long multi-row VALUES slowly)."""
    if not copies(conn):
        insert = (
            dialect_insert(conn, metric_series)
            .on_conflict_do_nothing(index_elements=["host", "service", "name"])
            .returning(*series_columns())
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


def insert_chunks(conn: sa.Connection, rows: list[ChunkRow]) -> None:
    """Insert chunk rows: binary COPY on PostgreSQL with psycopg (about 4× faster than its
    executemany), else executemany of the compiled INSERT with plain tuples."""
    if copies(conn):
        dbapi: Any = conn.connection.dbapi_connection
        with dbapi.cursor() as cursor, cursor.copy(_COPY_CHUNKS) as copy:
            copy.set_types(["int8", "float8", "float8", "int4", "bytea"])
            write_row = copy.write_row
            for row in rows:
                write_row(row)
    else:
        conn.exec_driver_sql(driver_sql(conn, "chunk", _chunk_insert), rows)


def _chunk_insert(conn: sa.Connection) -> tuple[sa.Insert, tuple[str, ...]]:
    values: dict[str, Any] = {column: sa.bindparam(column) for column in _CHUNK_COLUMNS}
    return sa.insert(metric_chunk).inline().values(values), _CHUNK_COLUMNS

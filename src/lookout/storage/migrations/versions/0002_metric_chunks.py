"""metric chunks: raw points as one row per series and flush, rollups by a downsampling pass

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 10:00:00.000000

``metric_raw`` (a row per point) becomes ``metric_chunk`` (a row per series and flush holding
little-endian float64 ``(ts, value)`` pairs sorted by ts) and ``metric_watermark`` (per rollup
step, the time before which ``metric_rollup`` holds its buckets). Upgrading converts the raw
points into chunks of at most an hour each; the old rollups already hold every raw point, so
each step's watermark starts at the end of its latest bucket. Downgrading converts the chunks
back into raw points and adds the points after each watermark to the rollups.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_SERIES_BATCH = 50  # series per read: bounds memory to their raw points
_INSERT_BATCH = 10_000
_CHUNK_SECONDS = 3600.0  # converted raw points: one chunk per series and hour

_series = sa.table("metric_series", sa.column("id", sa.BigInteger()))
_raw = sa.table(
    "metric_raw",
    sa.column("series_id", sa.BigInteger()),
    sa.column("ts", sa.Float()),
    sa.column("value", sa.Float()),
)
_chunk = sa.table(
    "metric_chunk",
    sa.column("id", sa.BigInteger()),
    sa.column("series_id", sa.BigInteger()),
    sa.column("start_ts", sa.Float()),
    sa.column("end_ts", sa.Float()),
    sa.column("count", sa.Integer()),
    sa.column("data", sa.LargeBinary()),
)
_rollup = sa.table(
    "metric_rollup",
    sa.column("series_id", sa.BigInteger()),
    sa.column("step", sa.Integer()),
    sa.column("ts", sa.Float()),
    sa.column("count", sa.Integer()),
    sa.column("sum", sa.Float()),
    sa.column("min", sa.Float()),
    sa.column("max", sa.Float()),
)
_ROLLUP_COLUMNS = ("series_id", "step", "ts", "count", "sum", "min", "max")
_watermark = sa.table(
    "metric_watermark", sa.column("step", sa.Integer()), sa.column("rolled_until", sa.Float())
)


def upgrade() -> None:
    op.create_table(
        "metric_chunk",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("series_id", sa.BigInteger(), nullable=False),
        sa.Column("start_ts", sa.Float(), nullable=False),
        sa.Column("end_ts", sa.Float(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("metric_chunk", schema=None) as batch_op:
        batch_op.create_index("ix_metric_chunk_series_end", ["series_id", "end_ts"], unique=False)

    op.create_table(
        "metric_watermark",
        sa.Column("step", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("rolled_until", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("step"),
    )
    conn = op.get_bind()
    _raw_to_chunks(conn)
    latest = sa.select(_rollup.c.step, sa.func.max(_rollup.c.ts)).group_by(_rollup.c.step)
    marks = [{"step": step, "rolled_until": ts + step} for step, ts in conn.execute(latest)]
    if marks:
        conn.execute(_watermark.insert(), marks)
    op.drop_table("metric_raw")


def downgrade() -> None:
    op.create_table(
        "metric_raw",
        sa.Column("series_id", sa.BigInteger(), nullable=False),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("series_id", "ts"),
    )
    conn = op.get_bind()
    _chunks_to_raw(conn)
    op.drop_table("metric_watermark")
    with op.batch_alter_table("metric_chunk", schema=None) as batch_op:
        batch_op.drop_index("ix_metric_chunk_series_end")

    op.drop_table("metric_chunk")


def _series_batches(conn: sa.Connection) -> Iterator[Sequence[int]]:
    ids = conn.execute(sa.select(_series.c.id).order_by(_series.c.id)).scalars().all()
    for begin in range(0, len(ids), _SERIES_BATCH):
        yield ids[begin : begin + _SERIES_BATCH]


def _pack(flat: list[float]) -> bytes:
    data = array("d", flat)
    if sys.byteorder != "little":
        data.byteswap()
    return data.tobytes()


def _unpack(data: bytes) -> array[float]:
    flat = array("d")
    flat.frombytes(data)
    if sys.byteorder != "little":
        flat.byteswap()
    return flat


def _raw_to_chunks(conn: sa.Connection) -> None:
    """Every raw point into chunks of one series and at most ``_CHUNK_SECONDS``."""
    rows: list[dict[str, Any]] = []
    for batch in _series_batches(conn):
        query = (
            sa.select(_raw.c.series_id, _raw.c.ts, _raw.c.value)
            .where(_raw.c.series_id.in_(batch))
            .order_by(_raw.c.series_id, _raw.c.ts)
        )
        groups: dict[tuple[int, float], list[float]] = {}
        for series_id, ts, value in conn.execute(query):
            groups.setdefault((series_id, ts // _CHUNK_SECONDS), []).extend((ts, value))
        for (series_id, _), flat in groups.items():
            rows.append(
                {
                    "series_id": series_id,
                    "start_ts": flat[0],
                    "end_ts": flat[-2],
                    "count": len(flat) // 2,
                    "data": _pack(flat),
                }
            )
        if len(rows) >= _INSERT_BATCH:
            conn.execute(_chunk.insert(), rows)
            rows = []
    if rows:
        conn.execute(_chunk.insert(), rows)


def _chunks_to_raw(conn: sa.Connection) -> None:
    """Every chunk point into raw rows (a repeated ts keeps the later chunk's value), and the
    points at or after each step's watermark into that step's rollups, as 0001 expects."""
    marks = dict(conn.execute(sa.select(_watermark.c.step, _watermark.c.rolled_until)).all())
    for batch in _series_batches(conn):
        query = (
            sa.select(_chunk.c.series_id, _chunk.c.data)
            .where(_chunk.c.series_id.in_(batch))
            .order_by(_chunk.c.series_id, _chunk.c.id)
        )
        points: dict[tuple[int, float], float] = {}
        for series_id, data in conn.execute(query):
            flat = _unpack(data)
            for i in range(0, len(flat), 2):
                points[series_id, flat[i]] = flat[i + 1]
        raw = [{"series_id": s, "ts": ts, "value": v} for (s, ts), v in points.items()]
        for begin in range(0, len(raw), _INSERT_BATCH):
            conn.execute(_raw.insert(), raw[begin : begin + _INSERT_BATCH])
        rollups: list[dict[str, Any]] = []
        for step, mark in marks.items():
            buckets: dict[tuple[int, float], list[float]] = {}
            for (series_id, ts), value in points.items():
                if ts < mark:
                    continue
                key = (series_id, ts - ts % step)  # floor(ts / step) * step
                bucket = buckets.setdefault(key, [0, 0.0, value, value])
                bucket[0] += 1
                bucket[1] += value
                bucket[2] = min(bucket[2], value)
                bucket[3] = max(bucket[3], value)
            rollups.extend(
                dict(zip(_ROLLUP_COLUMNS, (s, step, ts, int(n), t, lo, hi), strict=True))
                for (s, ts), (n, t, lo, hi) in buckets.items()
            )
        if rollups:
            conn.execute(_rollup.insert(), rollups)

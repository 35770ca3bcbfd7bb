"""Retention: how long points are kept, and the deletion of what is older (chunks only once every
step has rolled them up), of steps no longer configured, and of series left without points."""

from __future__ import annotations

import math
from dataclasses import dataclass

import sqlalchemy as sa

from lookout.errors import ConfigError
from lookout.storage.series.points import SeriesKey
from lookout.storage.series.rollups import read_watermarks
from lookout.storage.series.sql import CHUNK, chunks
from lookout.storage.tables import metric_chunk, metric_rollup, metric_series, metric_watermark


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


def expire(
    conn: sa.Connection, retention: SeriesRetention, now: float
) -> tuple[int, list[SeriesKey]]:
    """Delete points older than their retention (chunks only once rolled up) and series left
    without points. Returns the number of rows deleted (chunks and rollups) and the keys of
    the series deleted."""
    steps = [step for step, _ in retention.rollups]
    marks = read_watermarks(conn)
    stale = sorted(step for step in marks if step not in steps)
    # chunks go once they are past raw retention and every step has rolled them up
    chunk_cut = min([now - retention.raw_seconds, *(marks.get(s, -math.inf) for s in steps)])
    deleted = 0
    chunk, rollup = metric_chunk.c, metric_rollup.c
    ids = conn.execute(sa.select(metric_series.c.id).order_by(metric_series.c.id))
    for batch in chunks(ids.scalars().all(), CHUNK):
        deleted += conn.execute(
            sa.delete(metric_chunk).where(chunk.series_id.in_(batch), chunk.end_ts < chunk_cut)
        ).rowcount
        for step, keep in retention.rollups:
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
    return deleted, _drop_empty_series(conn)


def series_of(
    conn: sa.Connection, host: str, service: str | None
) -> list[tuple[int, str, str, str]]:
    """``(id, host, service, name)`` of ``host``'s ``service`` series (every one of the host
    when ``service`` is None)."""
    where = metric_series.c.host == host
    if service is not None:
        where = sa.and_(where, metric_series.c.service == service)
    query = sa.select(
        metric_series.c.id, metric_series.c.host, metric_series.c.service, metric_series.c.name
    ).where(where)
    return [(row[0], row[1], row[2], row[3]) for row in conn.execute(query)]


def _drop_empty_series(conn: sa.Connection) -> list[SeriesKey]:
    series_id = metric_series.c.id
    query = sa.select(
        series_id, metric_series.c.host, metric_series.c.service, metric_series.c.name
    ).where(
        ~sa.exists().where(metric_chunk.c.series_id == series_id),
        ~sa.exists().where(metric_rollup.c.series_id == series_id),
    )
    return delete_series(conn, [(row[0], row[1], row[2], row[3]) for row in conn.execute(query)])


def delete_series(conn: sa.Connection, rows: list[tuple[int, str, str, str]]) -> list[SeriesKey]:
    """Delete the series ``(id, host, service, name)`` rows and their points; returns their keys."""
    for batch in chunks([row[0] for row in rows], CHUNK):
        conn.execute(sa.delete(metric_chunk).where(metric_chunk.c.series_id.in_(batch)))
        conn.execute(sa.delete(metric_rollup).where(metric_rollup.c.series_id.in_(batch)))
        conn.execute(sa.delete(metric_series).where(metric_series.c.id.in_(batch)))
    return [(host, service, name) for _, host, service, name in rows]

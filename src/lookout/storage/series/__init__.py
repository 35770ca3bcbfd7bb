"""Metric time series: raw points in per-flush chunks plus rollups, each kept for a fixed time.

Modules: ``store`` (``SeriesStore``: what lives in memory, the methods the site calls),
``points`` (buffered points grouped and packed into chunks, series rows and ids), ``rollups``
(the downsampling pass, late points), ``queries`` (averages per bucket), ``retention`` (what is
kept how long, deletion), ``sql`` (per-dialect statements).

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
retention). Only the finest step reads chunks: a step that is a multiple of a finer one (the
hour of the 5 minutes) is summed from that step's rollups. By default the share is
``max(ROLLUP_ROWS, 2 × series)`` chunks: each checkpoint adds at most one chunk per series and
one pass reads it, so passes keep up at twice that pace while no checkpoint does a whole hour's
work (``bench/series.py``). A pass writes the buckets
between the old and the new watermark whole (replacing what a pass cut short by a restart
wrote), so it is idempotent and needs no state beyond memory; until it moves the watermarks,
queries read those buckets from the chunks, and a late point of a series the pass has done is
merged into its bucket.

Threads: ``add`` and ``take_pending`` run in the asyncio thread; ``write_pending``, ``load``,
``roll_up``, ``prune``, ``expire`` and ``forget`` run in the single writer thread inside the
caller's transaction (never committed here). If that transaction rolls back, call ``load``
again before the next ``write_pending``: series ids remembered meanwhile may not exist. A
caller taking points with ``keep_visible`` commits the transaction that wrote them inside
``publishing(points)``, or hands them back: with ``release`` when they will never be written,
with ``hand_back`` when a later checkpoint is to write them (they go in front of the buffer).
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

from lookout.storage.series.points import PendingPoints, SeriesKey
from lookout.storage.series.queries import SeriesData
from lookout.storage.series.retention import SeriesRetention
from lookout.storage.series.rollups import ROLLUP_ROWS
from lookout.storage.series.store import SeriesStore

__all__ = [
    "ROLLUP_ROWS",
    "PendingPoints",
    "SeriesData",
    "SeriesKey",
    "SeriesRetention",
    "SeriesStore",
]

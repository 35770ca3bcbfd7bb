"""Filesystems: used space in percent with an optional size-aware "magic factor", inodes,
and the time until full from the (smoothed) growth rate."""

from __future__ import annotations

import msgspec
from lookout_agent.wire import Filesystem, Sections

from lookout.checks.agent.api import (
    OK,
    CheckPlugin,
    Context,
    Outcome,
    human_bytes,
    human_duration,
    levels_lower,
    levels_upper,
    mark,
)
from lookout.domain.metrics import Metric

GIB = 1024**3
TREND_HORIZON = 3600.0
"""Seconds over which the growth rate is averaged (exponentially weighted)."""


class FsParams(msgspec.Struct, frozen=True, kw_only=True):
    levels: tuple[float, float] = (80.0, 90.0)
    """Used space in percent (WARN, CRIT), for a filesystem of ``magic_normsize`` GiB."""
    magic: float | None = None
    """Magic factor (0.1-1.0): bigger filesystems get levels closer to 100 % (Checkmk's rule)."""
    magic_normsize: float = 20.0
    """Size in GiB for which ``levels`` apply unchanged."""
    inodes_levels: tuple[float, float] | None = (10.0, 5.0)
    """Free inodes in percent (WARN below, CRIT below)."""
    trend_hours: tuple[float, float] | None = None
    """Hours until full (WARN below, CRIT below); None: report only."""


def effective_levels(p: FsParams, total: int) -> tuple[float, float]:
    if p.magic is None or total <= 0:
        return p.levels
    size = total / GIB / p.magic_normsize
    scale = (size**p.magic) / size
    w_, c_ = p.levels
    return 100 - (100 - w_) * scale, 100 - (100 - c_) * scale


def discover(s: Sections) -> list[str]:
    return [fs.mountpoint for fs in s.filesystems or ()]


def _find(s: Sections, item: str) -> Filesystem | None:
    return next((fs for fs in s.filesystems or () if fs.mountpoint == item), None)


def _trend(ctx: Context, fs: Filesystem) -> float | None:
    """Bytes per second of growth, averaged over ~an hour; None until two samples."""
    last = ctx.values.remember(f"fs.{fs.mountpoint}.used", ctx.now, float(fs.used))
    avg = ctx.values.data.get(f"fs.{fs.mountpoint}.growth")
    if last is None or ctx.now <= last[0]:
        return float(avg[1]) if avg else None
    rate = (fs.used - last[1]) / (ctx.now - last[0])
    alpha = min(1.0, (ctx.now - last[0]) / TREND_HORIZON)
    smooth = rate if avg is None else avg[1] + alpha * (rate - avg[1])
    ctx.values.data[f"fs.{fs.mountpoint}.growth"] = (ctx.now, smooth)
    return smooth


def check(ctx: Context, p: FsParams, s: Sections) -> Outcome:
    fs = _find(s, ctx.item)
    if fs is None:
        return Outcome(3, f"filesystem {ctx.item} not found in the agent's data (unmounted?)")
    size = fs.used + fs.free  # what non-root users can use
    pct = fs.used / size * 100 if size else 0.0
    warn, crit = effective_levels(p, fs.total)
    st = levels_upper(pct, (warn, crit))
    parts = [
        f"Used: {pct:.2f}%{mark(st)} - {human_bytes(fs.used)} of {human_bytes(size)}"
        + (f" (levels {warn:.1f}/{crit:.1f}%)" if st else "")
    ]
    metrics = [
        Metric(
            "fs_used", float(fs.used), "B", warn * size / 100, crit * size / 100, 0, float(size)
        ),
        Metric("fs_used_percent", round(pct, 3), "%", round(warn, 3), round(crit, 3), 0, 100),
    ]
    states = [st]
    if fs.inodes_total > 0:
        ipct = fs.inodes_free / fs.inodes_total * 100
        st_i = levels_lower(ipct, p.inodes_levels)
        states.append(st_i)
        if st_i:
            parts.append(f"inodes free: {ipct:.1f}%{mark(st_i)}")
        metrics.append(Metric("inodes_free_percent", round(ipct, 3), "%", min=0, max=100))
    growth = _trend(ctx, fs)
    if growth is not None:
        metrics.append(Metric("fs_growth", round(growth, 3), "B/s"))
        if growth > 0:
            hours = fs.free / growth / 3600
            st_t = levels_lower(hours, p.trend_hours)
            states.append(st_t)
            parts.append(f"full in {human_duration(hours * 3600)}{mark(st_t)}")
            metrics.append(Metric("fs_hours_left", round(hours, 2), "h", min=0))
    return Outcome(max(states) if states else OK, ", ".join(parts), metrics=tuple(metrics))


plugin = CheckPlugin("filesystem", "Filesystem {item}", FsParams, discover, check)

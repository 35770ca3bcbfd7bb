"""CPU utilisation (from the cumulative CPU times) and load per core."""

from __future__ import annotations

import msgspec
from lookout_agent.wire import Sections

from lookout.checks.agent.api import OK, CheckPlugin, Context, Outcome, levels_upper, mark
from lookout.domain.metrics import Metric

IDLE = ("idle", "iowait")


class UtilParams(msgspec.Struct, frozen=True, kw_only=True):
    levels: tuple[float, float] | None = (90.0, 95.0)
    """Utilisation in percent (WARN, CRIT)."""
    iowait: tuple[float, float] | None = None
    """IO wait in percent (WARN, CRIT)."""


class LoadParams(msgspec.Struct, frozen=True, kw_only=True):
    levels_per_core: tuple[float, float] | None = (5.0, 10.0)
    """15-minute load divided by the number of cores (WARN, CRIT)."""


def discover_util(s: Sections) -> list[str]:
    return [""] if s.cpu is not None else []


def check_util(ctx: Context, p: UtilParams, s: Sections) -> Outcome:
    if s.cpu is None:
        return Outcome(3, "no CPU data from the agent")
    times = s.cpu.times
    total = sum(v for k, v in times.items() if k not in ("guest", "guest_nice"))
    busy = total - sum(times.get(k, 0.0) for k in IDLE)
    last_total = ctx.values.remember("cpu.total", ctx.now, total)
    last_busy = ctx.values.remember("cpu.busy", ctx.now, busy)
    last_wait = ctx.values.remember("cpu.iowait", ctx.now, times.get("iowait", 0.0))
    since = ""
    if last_total is None or last_busy is None or last_wait is None or total <= last_total[1]:
        # The first sample: CPU times count from boot, so this is the average since boot.
        last_total = last_busy = last_wait = (0.0, 0.0)
        since = " (average since boot)"
        if total <= 0:
            return Outcome(OK, "waiting for the second sample to compute the utilisation")
    span = total - last_total[1]
    util = max(0.0, min(100.0, (busy - last_busy[1]) / span * 100))
    wait = max(0.0, min(100.0, (times.get("iowait", 0.0) - last_wait[1]) / span * 100))
    st_u, st_w = levels_upper(util, p.levels), levels_upper(wait, p.iowait)
    state = max(st_u, st_w)
    w_, c_ = p.levels or (None, None)
    return Outcome(
        state,
        f"Total CPU: {util:.1f}%{mark(st_u)}, IO wait: {wait:.1f}%{mark(st_w)}, "
        f"{s.cpu.cores} cores{since}",
        metrics=(
            Metric("cpu_util", round(util, 2), "%", w_, c_, 0, 100),
            Metric("cpu_iowait", round(wait, 2), "%", min=0, max=100),
        ),
    )


def discover_load(s: Sections) -> list[str]:
    return [""] if s.cpu is not None else []


def check_load(ctx: Context, p: LoadParams, s: Sections) -> Outcome:
    if s.cpu is None:
        return Outcome(3, "no CPU data from the agent")
    cores = max(1, s.cpu.cores)
    l1, l5, l15 = s.cpu.load
    per_core = l15 / cores
    state = levels_upper(per_core, p.levels_per_core)
    lv = p.levels_per_core
    return Outcome(
        state,
        f"15 min load: {l15:.2f}{mark(state)} ({per_core:.2f} per core, {cores} cores), "
        f"1 min: {l1:.2f}, 5 min: {l5:.2f}",
        metrics=(
            Metric("load1", l1, min=0),
            Metric("load5", l5, min=0),
            Metric(
                "load15", l15, "", lv[0] * cores if lv else None, lv[1] * cores if lv else None, 0
            ),
        ),
    )


utilization = CheckPlugin("cpu_util", "CPU utilization", UtilParams, discover_util, check_util)
load = CheckPlugin("cpu_load", "CPU load", LoadParams, discover_load, check_load)

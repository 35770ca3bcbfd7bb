"""Memory (RAM used = total - available) and swap."""

from __future__ import annotations

import msgspec
from lookout_agent.wire import Sections

from lookout.checks.agent.api import CheckPlugin, Context, Outcome, human_bytes, levels_upper, mark
from lookout.domain.metrics import Metric


class MemParams(msgspec.Struct, frozen=True, kw_only=True):
    levels: tuple[float, float] | None = (90.0, 95.0)
    """RAM used in percent (WARN, CRIT)."""
    swap_levels: tuple[float, float] | None = (50.0, 80.0)
    """Swap used in percent of the swap space (WARN, CRIT)."""


def discover(s: Sections) -> list[str]:
    return [""] if s.memory is not None else []


def check(ctx: Context, p: MemParams, s: Sections) -> Outcome:
    m = s.memory
    if m is None or m.total <= 0:
        return Outcome(3, "no memory data from the agent")
    used = m.total - m.available
    pct = used / m.total * 100
    st = levels_upper(pct, p.levels)
    summary = f"RAM: {pct:.1f}%{mark(st)} used - {human_bytes(used)} of {human_bytes(m.total)}"
    w_, c_ = p.levels or (None, None)
    metrics = [
        Metric("mem_used", float(used), "B", None, None, 0, float(m.total)),
        Metric("mem_used_percent", round(pct, 2), "%", w_, c_, 0, 100),
    ]
    st_swap = 0
    if m.swap_total > 0:
        spct = m.swap_used / m.swap_total * 100
        st_swap = levels_upper(spct, p.swap_levels)
        summary += f", Swap: {spct:.1f}%{mark(st_swap)} used - {human_bytes(m.swap_used)}"
        metrics.append(Metric("swap_used", float(m.swap_used), "B", min=0, max=float(m.swap_total)))
    else:
        summary += ", no swap"
    return Outcome(max(st, st_swap), summary, metrics=tuple(metrics))


plugin = CheckPlugin("memory", "Memory", MemParams, discover, check)

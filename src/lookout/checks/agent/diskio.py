"""Disk I/O: throughput, operations and utilisation per block device (counters → rates)."""

from __future__ import annotations

import re

import msgspec
from lookout_agent.wire import Disk, Sections

from lookout.checks.agent.api import OK, CheckPlugin, Context, Outcome, levels_upper, mark
from lookout.domain.metrics import Metric


class DiskParams(msgspec.Struct, frozen=True, kw_only=True):
    utilization: tuple[float, float] | None = None
    """Busy time in percent (WARN, CRIT)."""


def discover(s: Sections) -> list[str]:
    names = [d.name for d in s.disks or ()]
    whole = set(names)

    def partition(n: str) -> bool:
        base = re.sub(r"p?\d+$", "", n)
        return base != n and base in whole

    return [n for n in names if not partition(n)]


def _find(s: Sections, item: str) -> Disk | None:
    return next((d for d in s.disks or () if d.name == item), None)


def check(ctx: Context, p: DiskParams, s: Sections) -> Outcome:
    d = _find(s, ctx.item)
    if d is None:
        return Outcome(3, f"disk {ctx.item} not found in the agent's data")
    k = f"disk.{d.name}."
    boot = s.uptime.boot_time if s.uptime else None
    rates = [
        ctx.values.rate(k + f, ctx.now, v, boot)
        for f, v in (
            ("rb", d.read_bytes), ("wb", d.write_bytes), ("r", d.reads), ("w", d.writes),
            ("busy", d.busy_ms),
        )
    ]  # fmt: skip
    if any(r is None for r in rates):
        return Outcome(OK, "waiting for a second sample for the rates")
    rb, wb, r, w_, busy = (x or 0.0 for x in rates)
    util = min(100.0, busy / 10)  # ms busy per second → percent
    st = levels_upper(util, p.utilization)
    return Outcome(
        st,
        f"Read: {rb / 1e6:.2f} MB/s, Write: {wb / 1e6:.2f} MB/s, "
        f"{r + w_:.1f} IO/s, utilisation {util:.1f}%{mark(st)}",
        metrics=(
            Metric("disk_read_bytes", round(rb, 1), "B/s", min=0),
            Metric("disk_write_bytes", round(wb, 1), "B/s", min=0),
            Metric("disk_read_ios", round(r, 2), "1/s", min=0),
            Metric("disk_write_ios", round(w_, 2), "1/s", min=0),
            Metric("disk_utilization", round(util, 2), "%", min=0, max=100),
        ),
    )


plugin = CheckPlugin("diskio", "Disk IO {item}", DiskParams, discover, check)

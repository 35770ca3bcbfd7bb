"""Uptime (with reboot detection), processes, systemd units, time sync, OS inventory."""

from __future__ import annotations

import fnmatch
import time

import msgspec
from lookout_agent.wire import Sections

from lookout.checks.agent.api import (
    CRIT,
    OK,
    UNKNOWN,
    WARN,
    CheckPlugin,
    Context,
    Outcome,
    human_bytes,
    human_duration,
    mark,
)
from lookout.domain.metrics import Metric


# ---------------------------------------------------------------------- uptime
class UptimeParams(msgspec.Struct, frozen=True, kw_only=True):
    reboot_warn: float = 1800.0
    """Seconds a detected reboot keeps the service WARN (0: never WARN)."""


def discover_uptime(s: Sections) -> list[str]:
    return [""] if s.uptime is not None else []


def check_uptime(ctx: Context, p: UptimeParams, s: Sections) -> Outcome:
    if s.uptime is None:
        return Outcome(UNKNOWN, "no uptime data from the agent")
    boot = s.uptime.boot_time
    up = max(0.0, ctx.now - boot)
    last = ctx.values.remember("uptime.boot", ctx.now, boot)
    if last is not None and boot - last[1] > 60:  # boot time moved forward: a reboot
        ctx.values.data["uptime.rebooted"] = (ctx.now, boot)
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(boot))
    summary = f"Up since {since} UTC ({human_duration(up)})"
    state = OK
    reb = ctx.values.data.get("uptime.rebooted")
    if reb is not None and p.reboot_warn > 0 and ctx.now - reb[0] < p.reboot_warn:
        state = WARN
        summary += ", rebooted recently (!)"
    return Outcome(state, summary, metrics=(Metric("uptime", round(up), "s", min=0),))


# ---------------------------------------------------------------------- processes
class ProcessGroupParams(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    """Process name pattern (shell wildcards)."""
    min: int = 1
    max: int | None = None


class ProcessParams(msgspec.Struct, frozen=True, kw_only=True):
    groups: list[ProcessGroupParams] = msgspec.field(default_factory=list)
    """Process groups with their min/max counts; none: only count."""


def discover_procs(s: Sections) -> list[str]:
    return [""] if s.processes is not None else []


def check_procs(ctx: Context, p: ProcessParams, s: Sections) -> Outcome:
    if s.processes is None:
        return Outcome(UNKNOWN, "no process data from the agent")
    total = sum(g.count for g in s.processes)
    parts = [f"{total} processes"]
    metrics = [Metric("processes", float(total), min=0)]
    state = OK
    for grp in p.groups:
        match = [g for g in s.processes if fnmatch.fnmatchcase(g.name, grp.name)]
        n = sum(g.count for g in match)
        st = CRIT if n < grp.min or (grp.max is not None and n > grp.max) else OK
        state = max(state, st)
        limits = f"{grp.min}..{grp.max if grp.max is not None else ''}"
        rss = sum(g.rss for g in match)
        parts.append(f"{grp.name}: {n}{mark(st)} (expected {limits}, {human_bytes(rss)})")
        metrics.append(Metric(f"processes_{grp.name}", float(n), min=0))
    return Outcome(state, ", ".join(parts), metrics=tuple(metrics))


# ---------------------------------------------------------------------- systemd
class SystemdParams(msgspec.Struct, frozen=True, kw_only=True):
    failed_state: int = CRIT
    """State when units have failed."""
    ignore: list[str] = msgspec.field(default_factory=list)
    """Unit name patterns to ignore (shell wildcards)."""


def discover_systemd(s: Sections) -> list[str]:
    return [""] if s.systemd is not None else []


def check_systemd(ctx: Context, p: SystemdParams, s: Sections) -> Outcome:
    if s.systemd is None:
        return Outcome(UNKNOWN, "no systemd data from the agent")
    failed = [u for u in s.systemd.failed if not any(fnmatch.fnmatch(u, i) for i in p.ignore)]
    metrics = (Metric("systemd_failed", float(len(failed)), min=0),)
    if not failed:
        return Outcome(OK, f"{s.systemd.units} units, none failed", metrics=metrics)
    return Outcome(
        p.failed_state,
        f"{len(failed)} failed{mark(p.failed_state)}: {', '.join(failed[:10])}",
        "\n".join(failed),
        metrics,
    )


# ---------------------------------------------------------------------- time
class TimeParams(msgspec.Struct, frozen=True, kw_only=True):
    offset: tuple[float, float] = (0.2, 0.5)
    """Absolute clock offset in seconds (WARN, CRIT)."""
    unsynced_state: int = WARN
    """State when the clock is not synchronised."""


def discover_time(s: Sections) -> list[str]:
    return [""] if s.time is not None else []


def check_time(ctx: Context, p: TimeParams, s: Sections) -> Outcome:
    t = s.time
    if t is None:
        return Outcome(UNKNOWN, "no time synchronisation data from the agent")
    state = OK if t.synced else p.unsynced_state
    summary = f"{t.source}: {'synchronised' if t.synced else 'NOT synchronised'}{mark(state)}"
    metrics: tuple[Metric, ...] = ()
    if t.offset is not None:
        off = abs(t.offset)
        st = CRIT if off >= p.offset[1] else WARN if off >= p.offset[0] else OK
        state = max(state, st)
        summary += f", offset {t.offset * 1000:.2f} ms{mark(st)}"
        metrics = (Metric("time_offset", t.offset, "s", p.offset[0], p.offset[1]),)
    return Outcome(state, summary, metrics=metrics)


# ---------------------------------------------------------------------- OS
class NoParams(msgspec.Struct, frozen=True):
    pass


def discover_os(s: Sections) -> list[str]:
    return [""] if s.os is not None else []


def check_os(ctx: Context, p: NoParams, s: Sections) -> Outcome:
    o = s.os
    if o is None:
        return Outcome(UNKNOWN, "no OS data from the agent")
    summary = f"{o.name} {o.version}, kernel {o.kernel}, {o.arch}".replace("  ", " ")
    return Outcome(OK, summary, f"hostname: {o.hostname}")


uptime = CheckPlugin("uptime", "Uptime", UptimeParams, discover_uptime, check_uptime)
processes = CheckPlugin("processes", "Processes", ProcessParams, discover_procs, check_procs)
systemd = CheckPlugin("systemd", "Systemd units", SystemdParams, discover_systemd, check_systemd)
timesync = CheckPlugin("timesync", "Time sync", TimeParams, discover_time, check_time)
os_info = CheckPlugin("os", "OS", NoParams, discover_os, check_os)

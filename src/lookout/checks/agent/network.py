"""Network interfaces: link state, throughput and error rates (counters → rates)."""

from __future__ import annotations

import msgspec
from lookout_agent.wire import Interface, Sections

from lookout.checks.agent.api import CRIT, OK, CheckPlugin, Context, Outcome, levels_upper, mark
from lookout.domain.metrics import Metric

SKIP = ("lo", "docker", "veth", "virbr", "br-", "cali", "flannel", "cni")


class NicParams(msgspec.Struct, frozen=True, kw_only=True):
    errors_percent: tuple[float, float] | None = (0.01, 0.1)
    """Errors in percent of the packets (WARN, CRIT)."""
    expect_up: bool = True
    """CRIT when the link is down."""


def discover(s: Sections) -> list[str]:
    return [n.name for n in s.interfaces or () if n.up and not n.name.startswith(SKIP)]


def _find(s: Sections, item: str) -> Interface | None:
    return next((n for n in s.interfaces or () if n.name == item), None)


def check(ctx: Context, p: NicParams, s: Sections) -> Outcome:
    nic = _find(s, ctx.item)
    if nic is None:
        return Outcome(3, f"interface {ctx.item} not found in the agent's data")
    st_link = CRIT if p.expect_up and not nic.up else OK
    speed = f", speed {nic.speed_mbps} Mbit/s" if nic.speed_mbps else ""
    summary = f"{'up' if nic.up else 'DOWN'}{mark(st_link)}{speed}"
    key = f"if.{nic.name}."
    boot = s.uptime.boot_time if s.uptime else None
    r_in = ctx.values.rate(key + "in", ctx.now, nic.bytes_in, boot)
    r_out = ctx.values.rate(key + "out", ctx.now, nic.bytes_out, boot)
    pk_in = ctx.values.rate(key + "pin", ctx.now, nic.packets_in, boot)
    pk_out = ctx.values.rate(key + "pout", ctx.now, nic.packets_out, boot)
    e_in = ctx.values.rate(key + "ein", ctx.now, nic.errors_in, boot)
    e_out = ctx.values.rate(key + "eout", ctx.now, nic.errors_out, boot)
    if r_in is None or r_out is None or None in (pk_in, pk_out, e_in, e_out):
        return Outcome(st_link, summary + ", waiting for a second sample for the rates")
    packets = (pk_in or 0) + (pk_out or 0)
    errors = (e_in or 0) + (e_out or 0)
    err_pct = errors / packets * 100 if packets else 0.0
    st_err = levels_upper(err_pct, p.errors_percent)
    summary += (
        f", in: {r_in * 8 / 1e6:.2f} Mbit/s, out: {r_out * 8 / 1e6:.2f} Mbit/s"
        f", errors: {err_pct:.3f}%{mark(st_err)}"
    )
    return Outcome(
        max(st_link, st_err),
        summary,
        metrics=(
            Metric("if_in_bps", round(r_in * 8, 1), "bps", min=0),
            Metric("if_out_bps", round(r_out * 8, 1), "bps", min=0),
            Metric("if_errors_percent", round(err_pct, 4), "%", min=0),
        ),
    )


plugin = CheckPlugin("interface", "Interface {item}", NicParams, discover, check)

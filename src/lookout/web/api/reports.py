"""``GET /reports/availability``: time per state, outages and SLA verdicts (JSON or CSV)."""

from __future__ import annotations

import csv
import io
import time
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from lookout.auth import Principal, Role
from lookout.domain import durations
from lookout.domain.availability import Availability, DowntimeMode, Options
from lookout.domain.values import InvalidValue
from lookout.errors import ValidationError
from lookout.sites.reports import Selection, availability
from lookout.web.api.deps import require
from lookout.web.api.views import JSON
from lookout.wire.times import parse_time

router = APIRouter()
Viewer = Annotated[Principal, Depends(require(Role.VIEWER))]
CSV_COLUMNS = (
    "host",
    "service",
    "percent",
    "sla",
    "sla_met",
    "ok_or_up",
    "warn",
    "crit_or_down",
    "unknown_or_unreachable",
    "downtime",
    "host_down",
    "unmonitored",
    "outages",
    "longest_outage",
)


def period(since: str, until: str | None, now: float) -> tuple[float, float]:
    """``since``: a time, or a duration back from ``until`` ("30d"); ``until``: a time
    (default now)."""
    end = now
    if until is not None:
        try:
            end = parse_time(until)
        except ValueError as exc:
            raise ValidationError(f"until: {exc}", ("until",)) from None
    try:
        start = end - durations.parse_duration(since)
    except InvalidValue:
        try:
            start = parse_time(since)
        except ValueError:
            raise ValidationError(
                f"since: {since!r} is neither a duration (like 30d, 2w, 12h) nor a time",
                ("since",),
            ) from None
    if start >= end:
        raise ValidationError("since must lie before until", ("since",))
    return start, end


def _labels(items: list[str]) -> tuple[tuple[str, str], ...]:
    out = []
    for item in items:
        key, sep, value = item.partition("=")
        if not (key and sep):
            raise ValidationError(f"label filter {item!r}: expected key=value", ("label",))
        out.append((key, value))
    return tuple(out)


@router.get("/reports/availability")
async def availability_report(
    request: Request,
    _: Viewer,
    since: Annotated[str, Query(description="A time, or a duration back from until: 30d")] = "1d",
    until: Annotated[str | None, Query(description="A time (default: now)")] = None,
    host: str = "",
    service: str = "",
    group: Annotated[str, Query(description="Host group")] = "",
    label: Annotated[list[str] | None, Query(description="key=value, repeatable")] = None,
    kind: Annotated[str, Query(pattern="^(services|hosts|all)$")] = "services",
    downtime: DowntimeMode = DowntimeMode.SEPARATE,
    soft_states: bool = False,
    host_down: bool = False,
    sla: Annotated[float | None, Query(ge=0, le=100)] = None,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> Response:
    """Availability per object over a period: seconds per state, in downtime, with the host
    down, unmonitored; the outages; the availability in percent and the SLA verdict."""
    site = request.app.state.site
    start, end = period(since, until, time.time())
    opts = Options(start, end, downtime, soft_states, host_down, sla)
    sel = Selection(host, service, group, _labels(label or []), kind)
    reports = await availability(site, sel, opts)
    if format == "csv":
        return Response(
            to_csv(reports),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="availability.csv"'},
        )
    items = [r.as_dict() for r in reports]
    return JSON(
        {
            "start": start,
            "end": end,
            "options": {
                "downtime": str(downtime),
                "soft_states": soft_states,
                "host_down": host_down,
                "sla": sla,
            },
            "total": len(items),
            "items": items,
        }
    )


def to_csv(reports: list[Availability]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    for r in reports:
        s = r.seconds
        if r.service:
            states = [s["ok"], s["warn"], s["crit"], s["unknown"]]
        else:
            states = [s["up"], 0.0, s["down"], s["unreachable"]]
        longest = max((o.duration for o in r.outages), default=0.0)
        pct = r.percent
        writer.writerow(
            [
                r.host,
                r.service,
                "" if pct is None else f"{pct:.4f}",
                "" if r.sla is None else r.sla,
                "" if r.sla_met is None else str(r.sla_met).lower(),
                *(f"{v:.0f}" for v in states),
                f"{s['downtime']:.0f}",
                f"{s['host_down']:.0f}",
                f"{s['unmonitored']:.0f}",
                len(r.outages),
                f"{longest:.0f}",
            ]
        )
    return buf.getvalue()

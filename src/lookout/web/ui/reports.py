"""The availability report page: a form, one row per object with a timeline bar, a CSV
download. The same computation as ``GET /api/v1/reports/availability``."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from lookout.domain.availability import Availability, DowntimeMode, Options
from lookout.errors import ValidationError
from lookout.sites.reports import Selection, availability
from lookout.web.api.reports import period, to_csv
from lookout.web.ui.sessions import Session
from lookout.web.ui.timing import TimedRoute
from lookout.web.ui.web import render, site_of, viewer

router = APIRouter(include_in_schema=False, route_class=TimedRoute)
Viewer = Annotated[Session, Depends(viewer)]
BAR_COLOURS = {
    "ok": "ok", "up": "ok", "warn": "warn", "crit": "crit", "down": "crit",
    "unknown": "unknown", "unreachable": "unknown", "downtime": "downtime",
    "host_down": "hostdown", "unmonitored": "pending",
}  # fmt: skip


async def _report(
    request: Request, form: dict[str, str]
) -> tuple[list[Availability], Options | None, list[str]]:
    try:
        start, end = period(form["since"] or "1d", form["until"] or None, time.time())
        sla = float(form["sla"]) if form["sla"] else None
        if sla is not None and not 0 <= sla <= 100:
            raise ValidationError("SLA: a percentage from 0 to 100", ("sla",))
        downtime = DowntimeMode(form["downtime"] or "separate")
    except ValidationError as exc:
        return [], None, [str(exc)]
    except ValueError:
        return [], None, ["SLA: a number such as 99.9; Downtime: separate, ok or ignore"]
    labels = tuple(
        (k, v) for k, _, v in (p.partition("=") for p in form["label"].split(",") if p.strip())
    )
    sel = Selection(form["host"], form["service"], form["group"], labels, form["kind"])
    opts = Options(start, end, downtime, form["soft"] == "1", form["host_down"] == "1", sla)
    return await availability(site_of(request), sel, opts, segments=True), opts, []


def _form(request: Request) -> dict[str, str]:
    q = request.query_params
    keys = ("since", "until", "host", "service", "group", "label", "downtime", "soft")
    form = {k: q.get(k, "").strip() for k in (*keys, "host_down", "sla")}
    form["kind"] = q.get("kind", "services") if q.get("kind") in ("hosts", "all") else "services"
    return form


@router.get("/reports/availability")
async def availability_page(request: Request, sess: Viewer) -> Response:
    form = _form(request)
    reports, opts, errors = await _report(request, form)
    return render(
        request,
        sess,
        "availability.html",
        422 if errors else 200,
        title="Availability",
        form=form,
        reports=reports[:2000],
        total=len(reports),
        opts=opts,
        errors=errors,
        colours=BAR_COLOURS,
        query=request.url.query,
    )


@router.get("/reports/availability.csv")
async def availability_csv(request: Request, _: Viewer) -> Response:
    reports, _opts, errors = await _report(request, _form(request))
    if errors:
        return Response("\n".join(errors) + "\n", status_code=422, media_type="text/plain")
    return Response(
        to_csv(reports),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="availability.csv"'},
    )

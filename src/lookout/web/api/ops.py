"""Liveness, readiness and Prometheus metrics of Lookout itself."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import PlainTextResponse, Response

from lookout.auth import Role
from lookout.web.api.deps import TooManyFailures, authenticate
from lookout.web.api.problems import problem
from lookout.web.api.views import JSON

router = APIRouter()


@router.get("/healthz", include_in_schema=False)
async def healthz() -> Response:
    return JSON({"status": "ok"})


@router.get("/readyz", include_in_schema=False)
async def readyz(request: Request) -> Response:
    """200 when ready, else 503 "not ready". Why (the failed write's error names SQL and row
    data) only for an admin token; it is in the log too."""
    site = request.app.state.site
    why = site.runner.failed or ("" if site.runner.started else "starting")
    if not why:
        return JSON(
            {
                "status": "ready",
                "hosts": len(site.engine.hosts),
                "services": len(site.engine.services),
            }
        )
    return problem(503, f"not ready: {why}" if _is_admin(site, request) else "not ready")


def _is_admin(site: object, request: Request) -> bool:
    try:
        principal = authenticate(site, request)
    except TooManyFailures:  # a probe gets its answer all the same, without the reason
        return False
    return principal is not None and principal.role.allows(Role.ADMIN)


def exposition(site: object) -> str:
    s = site  # typed loosely: the site wires many parts
    eng = s.engine  # type: ignore[attr-defined]
    runner = s.runner  # type: ignore[attr-defined]
    sched = s.scheduler  # type: ignore[attr-defined]
    bus = s.bus  # type: ignore[attr-defined]
    c = eng.counters
    states = [0, 0, 0, 0]
    host_states = [0, 0, 0]
    for (_, svc), st in eng.status.items():
        if svc:
            states[st.state] += 1
        else:
            host_states[st.state] += 1
    lines = [
        "# HELP lookout_results_ingested_total Check results applied to the engine.",
        "# TYPE lookout_results_ingested_total counter",
        f"lookout_results_ingested_total {c.results}",
        "# HELP lookout_results_unknown_object_total Results naming no known object.",
        "# TYPE lookout_results_unknown_object_total counter",
        f"lookout_results_unknown_object_total {c.results_unknown_object}",
        "# HELP lookout_actions_total Actions and clock ticks applied.",
        "# TYPE lookout_actions_total counter",
        f"lookout_actions_total {c.actions}",
        "# HELP lookout_events_total Events emitted.",
        "# TYPE lookout_events_total counter",
        f"lookout_events_total {c.events}",
        "# HELP lookout_checks_run_total Active checks run.",
        "# TYPE lookout_checks_run_total counter",
        f"lookout_checks_run_total {sched.checks_run}",
        "# HELP lookout_scheduler_lag_seconds How late the oldest due check is.",
        "# TYPE lookout_scheduler_lag_seconds gauge",
        f"lookout_scheduler_lag_seconds {sched.lag:.3f}",
        "# HELP lookout_event_bus_depth Events waiting in subscriber queues.",
        "# TYPE lookout_event_bus_depth gauge",
        f"lookout_event_bus_depth {bus.depth}",
        "# HELP lookout_journal_commits_total Group commits of the journal.",
        "# TYPE lookout_journal_commits_total counter",
        f"lookout_journal_commits_total {runner.commits}",
        "# HELP lookout_journal_backlog Inputs applied and waiting for the next commit.",
        "# TYPE lookout_journal_backlog gauge",
        f"lookout_journal_backlog {runner.journal_backlog}",
        "# HELP lookout_services Services by state.",
        "# TYPE lookout_services gauge",
    ]
    for i, name in enumerate(("ok", "warn", "crit", "unknown")):
        lines.append(f'lookout_services{{state="{name}"}} {states[i]}')
    lines += ["# HELP lookout_hosts Hosts by state.", "# TYPE lookout_hosts gauge"]
    for i, name in enumerate(("up", "down", "unreachable")):
        lines.append(f'lookout_hosts{{state="{name}"}} {host_states[i]}')
    return "\n".join(lines) + "\n"


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    return PlainTextResponse(
        exposition(request.app.state.site), media_type="text/plain; version=0.0.4"
    )

"""``GET /pools``: the site's worker pools (NATS JetStream), their workers and queues."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from starlette.responses import Response

from lookout.auth import Principal, Role
from lookout.sources.workers.runner import LATENCY_BUCKETS
from lookout.web.api.deps import require
from lookout.web.api.views import JSON

router = APIRouter(tags=["pools"])
Viewer = Annotated[Principal, Depends(require(Role.VIEWER))]


@router.get("/pools")
async def list_pools(request: Request, _: Viewer) -> Response:
    """Where active checks run: ``runner`` "embedded" (in the site, no pools) or "nats" with
    each pool's live workers, jobs waiting and running, the oldest job's age in seconds, the
    site's runs waiting for a result and the due-to-journaled latency p99 in seconds."""
    pools = request.app.state.site.pools
    if pools is None:
        return JSON({"runner": "embedded", "nats": None, "error": "", "pools": []})
    answer: dict[str, Any] = {
        "runner": "nats",
        "nats": pools.access.shown(),
        "error": pools.error,
        "pools": [dataclasses.asdict(p) for p in await pools.pools()],
    }
    return JSON(answer)


def pool_families(runner: Any) -> Iterator[Metric]:
    """The pools' figures for /metrics (queues as of the runner's last look, every 5 s)."""
    c = runner.counters
    yield CounterMetricFamily("lookout_pool_jobs", "Checks handed to worker pools.", value=c.jobs)
    yield CounterMetricFamily(
        "lookout_pool_results", "Results of workers journaled.", value=c.results
    )
    yield CounterMetricFamily(
        "lookout_pool_duplicate_results",
        "Results of workers dropped: copies, or older than what the site has.",
        value=c.duplicates,
    )
    yield CounterMetricFamily(
        "lookout_pool_no_worker",
        "Checks answered UNKNOWN: no worker took them or none answered in time.",
        value=c.no_worker,
    )
    latency = HistogramMetricFamily(
        "lookout_pool_latency_seconds",
        "Seconds from a check's due time to its journaled result, per pool.",
        labels=["pool"],
    )
    for pool, (counts, total) in sorted(runner.latency_histograms().items()):
        cumulative, buckets = 0, []
        for bound, n in zip((*LATENCY_BUCKETS, float("inf")), counts, strict=True):
            cumulative += n
            buckets.append(("+Inf" if bound == float("inf") else str(bound), cumulative))
        latency.add_metric([pool], buckets, total)
    yield latency
    gauges = {
        "workers": ("lookout_pool_workers", "Workers alive per pool."),
        "waiting": ("lookout_pool_jobs_waiting", "Jobs no worker has taken yet."),
        "running": ("lookout_pool_jobs_running", "Jobs taken and not acknowledged yet."),
        "oldest_job_age": (
            "lookout_pool_oldest_job_age_seconds",
            "Seconds the oldest job of the pool has waited.",
        ),
        "in_flight": ("lookout_pool_in_flight", "Checks of the site waiting for a result."),
    }
    families = {
        key: GaugeMetricFamily(name, doc, labels=["pool"]) for key, (name, doc) in gauges.items()
    }
    for p in runner.last_pools:
        families["workers"].add_metric([p.pool], len(p.workers))
        families["in_flight"].add_metric([p.pool], p.in_flight)
        for key in ("waiting", "running", "oldest_job_age"):
            value = getattr(p, key)
            if value is not None:
                families[key].add_metric([p.pool], value)
    yield from families.values()

"""Services made from a check's series (PromQL ``per_series``): one passive service per series,
on the check's host, named by the series' labels, fed each time the check runs.

A series service depends on the check's own service, so when Prometheus cannot answer (the
check's service is UNKNOWN) the series' problems are that one's consequence, told once. A
series the query no longer returns gets the check's ``if_empty`` state. Series services go
with their check's service (their label ``lookout/series-of`` names it).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from lookout.checks.active import SeriesOutcome
from lookout.checks.active.promql import series_name
from lookout.domain import values
from lookout.domain.objects import ServiceConfig
from lookout.domain.results import CheckResult
from lookout.engine import inputs as inp
from lookout.engine.core import Engine

if TYPE_CHECKING:
    from lookout.sites.site import Site

log = logging.getLogger(__name__)

SOURCE = "lookout/source"
SERIES_OF = "lookout/series-of"
LABEL_PREFIX = "promql/"
MAX_LABELS = 48
"""Series labels kept as service labels (a service holds at most 64)."""
GONE = "no longer returned by the query"
IF_EMPTY = {"OK": 0, "WARN": 1, "CRIT": 2, "UNKNOWN": 3}


def series_service_name(parent: str, labels: Iterable[tuple[str, str]]) -> str:
    """``parent {a="1", b="2"}`` (``__name__`` left out: the check names the metric); too long
    a name keeps its start and gains a hash of the whole, so it stays unique."""
    name = f"{parent} {series_name({k: v for k, v in labels if k != '__name__'})}"
    if len(name) <= values.MAX_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:12]
    return f"{name[: values.MAX_NAME - 15]}… {digest}}}"


def series_services_of(engine: Engine, host: str, service: str) -> list[str]:
    """The names of the services made from the series of ``host``/``service``'s check."""
    return [
        name
        for name, cfg in engine.host_services.get(host, {}).items()
        if cfg.labels.get(SERIES_OF) == service
    ]


class SeriesServices:
    """Keeps each splitting check's series services in line with its last answer."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self._tasks: set[asyncio.Task[None]] = set()
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._closed = False

    def take(self, host: str, service: str, series: tuple[SeriesOutcome, ...]) -> None:
        """The runner's ``on_series``: bring the series' services up to date (in a task, so the
        check's run is not held up)."""
        if self._closed:
            return
        task = asyncio.create_task(self._update(host, service, series), name="lookout-series")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _update(self, host: str, service: str, series: tuple[SeriesOutcome, ...]) -> None:
        lock = self._locks.setdefault((host, service), asyncio.Lock())
        async with lock:  # one run's services before the next run's
            try:
                await self.update(host, service, series)
            except Exception:
                log.exception("series services of %s/%s not updated", host, service)

    async def update(self, host: str, service: str, series: tuple[SeriesOutcome, ...]) -> None:
        site = self.site
        parent = site.engine.services.get((host, service))
        if parent is None or parent.check is None:
            return  # deleted meanwhile
        ours = set(series_services_of(site.engine, host, service))
        new: list[ServiceConfig] = []
        results: list[CheckResult] = []
        seen: set[str] = set()
        for s in series:
            name = series_service_name(service, s.labels)
            if values.name_problem(name, host=False) is not None or name in seen:
                continue  # a label value no name may hold (a line break…): the check lists it
            seen.add(name)
            if name not in ours:
                new.append(_series_config(parent, name, s))
            results.append(CheckResult(host, name, s.state, s.summary, "", s.metrics))
        gone = IF_EMPTY.get(str(parent.check.get("if_empty", "UNKNOWN")), 3)
        for name in ours - seen:
            results.append(CheckResult(host, name, gone, f"PromQL - {GONE}"))
        if new:
            await site.apply_batch([], new, [], [])
        if results:
            await site.runner.apply(inp.Results(at=site.clock(), results=results))

    async def aclose(self) -> None:
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def _series_config(parent: ServiceConfig, name: str, s: SeriesOutcome) -> ServiceConfig:
    labels = {SOURCE: "promql", SERIES_OF: parent.name}
    for key, value in s.labels[:MAX_LABELS]:
        if values.text_problem(key) is None and values.text_problem(value) is None:
            labels[LABEL_PREFIX + key] = value
    return ServiceConfig(
        host=parent.host,
        name=name,
        check_interval=parent.check_interval,
        retry_interval=parent.retry_interval,
        max_check_attempts=parent.max_check_attempts,
        stale_after=0,  # fed by the check's runs; the check's own service goes stale instead
        labels=labels,
        depends_on=((parent.host, parent.name),),
    )

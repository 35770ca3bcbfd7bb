"""``/metrics`` for Prometheus: the site's own metrics, and (opt-in, ``[metrics]``) every
service's state, acknowledgement and downtime and its perfdata, with host and service labels.

The site's metrics are a ``prometheus_client`` collector, written by its text writer. The
per-object families are written by :class:`ObjectFamilies`, streamed in chunks from a snapshot
of the statuses, with the label text of each object escaped once and cached: for 100,000
services prometheus_client's generic writer (a Sample and a label dict per line) took 3.6 s,
this takes a fraction of a second (bench/metrics.py). Both follow the same text format 0.0.4:
values through ``prometheus_client.utils.floatToGoString``, label values escaped as it does.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, cast

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.utils import floatToGoString

from lookout.storage import memory
from lookout.web.api.pools import pool_families

go_float = cast(Callable[[float], str], floatToGoString)
"""prometheus_client's number formatting (untyped there)."""
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
CHUNK = 5_000
"""Objects written per chunk; the event loop serves others in between."""


class SiteCollector(Collector):
    """Counters and gauges of the site itself (results, events, journal, scheduler, bus)."""

    def __init__(self, site: Any) -> None:
        self.site = site

    def collect(self) -> Iterator[Metric]:
        s = self.site
        active = s.standby.active
        yield _gauge(
            "lookout_site_active",
            "1 in the process that runs the site, 0 in a standby (or while starting).",
            1 if active else 0,
        )
        if not active:
            return  # a standby has no site state to tell
        c = s.engine.counters
        yield _counter(
            "lookout_results_ingested", "Check results applied to the engine.", c.results
        )
        yield _counter(
            "lookout_results_unknown_object",
            "Results naming no known object.",
            c.results_unknown_object,
        )
        yield _counter("lookout_actions", "Actions and clock ticks applied.", c.actions)
        yield _counter("lookout_events", "Events emitted.", c.events)
        yield _counter("lookout_checks_run", "Active checks run.", s.scheduler.checks_run)
        yield _counter("lookout_journal_commits", "Group commits of the journal.", s.runner.commits)
        yield _gauge(
            "lookout_scheduler_lag_seconds", "How late the oldest due check is.", s.scheduler.lag
        )
        yield _gauge("lookout_event_bus_depth", "Events waiting in subscriber queues.", s.bus.depth)
        yield _gauge(
            "lookout_journal_backlog",
            "Inputs applied and waiting for the next commit.",
            s.runner.journal_backlog,
        )
        yield _counter(
            "lookout_checkpoint_failures",
            "Checkpoints that failed and were handed to a later one (see the log).",
            s.runner.checkpoint_failures,
        )
        yield _gauge(
            "lookout_checkpoint_failing",
            "1 while checkpoints fail in a row (input is still journaled), else 0.",
            0 if s.runner.checkpoint_trouble is None else 1,
        )
        held = memory.sqlite_bytes()
        if held is not None:
            yield _gauge(
                "lookout_sqlite_memory_bytes",
                "Bytes SQLite holds in the site process (page caches of every connection).",
                held,
            )
        sync = s.alertmanager.sync
        if sync is not None:
            yield _counter(
                "lookout_alertmanager_sync_failures",
                "Rounds of the Alertmanager silence sync that failed (see the log).",
                sync.failures,
            )
        if s.pools is not None:
            yield from pool_families(s.pools)
        services, hosts = [0, 0, 0, 0], [0, 0, 0]
        for (_, svc), st in s.engine.status.items():
            if svc:
                services[st.state] += 1
            else:
                hosts[st.state] += 1
        by_state = GaugeMetricFamily("lookout_services", "Services by state.", labels=["state"])
        for name, n in zip(("ok", "warn", "crit", "unknown"), services, strict=True):
            by_state.add_metric([name], n)
        yield by_state
        by_state = GaugeMetricFamily("lookout_hosts", "Hosts by state.", labels=["state"])
        for name, n in zip(("up", "down", "unreachable"), hosts, strict=True):
            by_state.add_metric([name], n)
        yield by_state


def _counter(name: str, doc: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, value=value)


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


def escape(value: str) -> str:
    """A label value as the text format writes it (prometheus_client's escaping)."""
    if "\\" in value or '"' in value or "\n" in value:
        value = value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
    return value


FAMILIES = (
    ("lookout_host_state", "State of each host (0 UP, 1 DOWN, 2 UNREACHABLE)."),
    ("lookout_service_state", "State of each service (0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN)."),
    ("lookout_service_acknowledged", "1 while the service's problem is acknowledged."),
    ("lookout_service_in_downtime", "1 while the service (or its host) is in a downtime."),
)
PERFDATA = (
    ("lookout_perfdata", "Last value of each perfdata metric."),
    ("lookout_perfdata_warn", "Warning threshold of each perfdata metric, where set."),
    ("lookout_perfdata_crit", "Critical threshold of each perfdata metric, where set."),
)


class ObjectFamilies:
    """Writes the per-object families; label texts are cached per object and metric."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self._labels: dict[tuple[str, str], str] = {}
        self._metric_labels: dict[tuple[str, str, str, str], str] = {}
        self._perf: dict[tuple[str, str], tuple[Any, tuple[str, str, str]]] = {}

    def _label(self, host: str, service: str) -> str:
        key = (host, service)
        text = self._labels.get(key)
        if text is None:
            if service:
                text = f'{{host="{escape(host)}",service="{escape(service)}"}}'
            else:
                text = f'{{host="{escape(host)}"}}'
            self._labels[key] = text
        return text

    def _metric_label(self, host: str, service: str, metric: str, unit: str) -> str:
        key = (host, service, metric, unit)
        text = self._metric_labels.get(key)
        if text is None:
            text = (
                f'{{host="{escape(host)}",service="{escape(service)}",'
                f'metric="{escape(metric)}",unit="{escape(unit)}"}}'
            )
            self._metric_labels[key] = text
        return text

    def _forget_gone(self, live: int) -> None:
        """Drop the cache when removed objects may fill half of it."""
        if len(self._labels) > 2 * live + 1000:
            self._labels.clear()
            self._metric_labels.clear()
            self._perf.clear()

    async def write(self, perfdata: bool) -> AsyncIterator[str]:
        statuses = list(self.engine.status.values())
        self._forget_gone(len(statuses))
        label = self._label
        hosts = [(label(st.host, ""), st) for st in statuses if not st.service]
        services = [(label(st.host, st.service), st) for st in statuses if st.service]
        down = self.engine.host_in_downtime
        families: list[tuple[str, str, list[tuple[str, Any]], Callable[[Any], int]]] = [
            (*FAMILIES[0], hosts, lambda st: st.state),
            (*FAMILIES[1], services, lambda st: st.state),
            (*FAMILIES[2], services, lambda st: 0 if st.ack is None else 1),
            (*FAMILIES[3], services, lambda st: int(st.downtime_depth > 0 or down(st.host))),
        ]
        for name, doc, objects, value in families:
            yield f"# HELP {name} {doc}\n# TYPE {name} gauge\n"
            for part in _chunks(objects):
                yield "".join([f"{name}{text} {value(st)}\n" for text, st in part])
                await asyncio.sleep(0)
        if perfdata:
            texts = [self._perfdata_text(st) for st in statuses if st.metrics]
            for i, (name, doc) in enumerate(PERFDATA):
                yield f"# HELP {name} {doc}\n# TYPE {name} gauge\n"
                for part in _chunks(texts):
                    yield "".join([t[i] for t in part])
                    await asyncio.sleep(0)

    def _perfdata_text(self, st: Any) -> tuple[str, str, str]:
        """The lines of one object's metrics (value, warn, crit), kept until they change."""
        key = (st.host, st.service)
        cached = self._perf.get(key)
        if cached is not None and cached[0] is st.metrics:
            return cached[1]
        lines: tuple[list[str], list[str], list[str]] = ([], [], [])
        for m in st.metrics:
            text = self._metric_label(st.host, st.service, m.name, m.unit)
            for i, v in enumerate((m.value, m.warn, m.crit)):
                if v is not None:
                    lines[i].append(f"{PERFDATA[i][0]}{text} {go_float(v)}\n")
        texts = ("".join(lines[0]), "".join(lines[1]), "".join(lines[2]))
        self._perf[key] = (st.metrics, texts)
        return texts


def _chunks(items: list[Any]) -> Iterator[list[Any]]:
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


class Exposition:
    """What ``GET /metrics`` streams for one site."""

    def __init__(self, site: Any) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(SiteCollector(site))
        self.objects = ObjectFamilies(site.engine)
        self.settings = site.settings.metrics

    async def stream(self) -> AsyncIterator[bytes]:
        yield generate_latest(self.registry)
        if self.settings.services:
            async for text in self.objects.write(self.settings.perfdata):
                yield text.encode()

"""One cluster, watched: list every resource once, then watch (relisting on 410 Gone), and
every interval evaluate the objects and hand the result to the site.

The monitor never crashes on what the cluster says: an unreachable server, a 401, a denied
resource, a bad answer become states and texts on the cluster host's services.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from lookout.checks.kube.evaluate import ClusterInput, Evaluation, evaluate, offline
from lookout.checks.kube.memory import Memory
from lookout.checks.kube.sections import Event, Pod
from lookout.checks.kube.view import Certificate, Objects, Usage, key
from lookout.sources.kube import usage as kubelet_usage
from lookout.sources.kube.certs import KubeletCert, kubelet_certificates, peer_certificate
from lookout.sources.kube.client import KubeClient, Timeouts, WatchEvent
from lookout.sources.kube.credentials import Credentials
from lookout.sources.kube.errors import ApiStatus, Forbidden, Gone, KubeError, Unauthorized
from lookout.sources.kube.events import warning_events
from lookout.sources.kube.prometheus import PrometheusUsage
from lookout.sources.kube.resources import RESOURCES, Resource

log = logging.getLogger(__name__)

FIRST_COLLECT_WAIT = 10.0
"""Seconds the first evaluation of a session waits for usage and kubelet health."""
WATCHER_STOP_TIMEOUT = 5.0
"""Seconds a stopping session waits for its watch tasks to end."""


@dataclass(frozen=True)
class ClusterSpec:
    name: str
    creds: Credentials
    interval: float = 60.0
    """Seconds between evaluations."""
    usage: str = "kubelet"
    """Where usage comes from: kubelet, prometheus, none."""
    prometheus_url: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    rules: list[dict[str, Any]] = field(default_factory=list)
    pod_hosts: dict[str, str] | None = None
    timeouts: Timeouts = field(default_factory=Timeouts)
    watch_timeout: int = 300


Publish = Callable[[str, Evaluation], Awaitable[None]]
UsageReader = Callable[[Objects], Awaitable[Usage]]


class ClusterMonitor:
    def __init__(
        self,
        spec: ClusterSpec,
        publish: Publish | None = None,
        *,
        clock: Callable[[], float] = time.time,
        client: KubeClient | None = None,
        usage_reader: UsageReader | None = None,
    ) -> None:
        self.spec = spec
        self.publish = publish
        self.clock = clock
        self.client = client or KubeClient(spec.creds, timeouts=spec.timeouts)
        self.prometheus: PrometheusUsage | None = None
        if usage_reader is None and spec.usage == "prometheus" and spec.prometheus_url:
            self.prometheus = PrometheusUsage(spec.prometheus_url, timeout=spec.timeouts.read)
            usage_reader = self.prometheus.read
        self.usage_reader = usage_reader
        self.objects = Objects()
        self.memory = Memory()
        self.versions: dict[str, str] = {}
        self.denied: dict[str, str] = {}
        self.resources: dict[str, Resource] = {r.name: r for r in RESOURCES}
        """The resources listed and watched, by name, in the version the server serves."""
        self.unserved: dict[str, str] = {}
        """Resources the API server does not serve (404): noted, not fatal."""
        self.connected = False
        self.synced = False
        self.error = ""
        self.server_version = ""
        self.relists = 0
        self.changes = 0
        self.last_event_at: float | None = None
        self.events: dict[str, tuple[float, Event | None]] = {}
        self.last: Evaluation | None = None
        self.usage = Usage()
        self.kubelets: dict[str, tuple[int | None, str]] = {}
        self.warnings: list[Event] | None = None
        """The cluster's Warning events (None until read; kept when a read fails)."""
        self.api_cert: Certificate | None = None
        self.api_cert_error = ""
        self._tls: ssl.SSLContext | None = None
        self.kubelet_certs: dict[str, KubeletCert] = {}
        """Node → (when read, its kubelet's certificate or None, why not)."""

    # ------------------------------------------------------------------ life cycle
    async def run(self) -> None:
        """Forever: connect, list, watch and evaluate; on failure report and retry."""
        backoff = 1.0
        while True:
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except KubeError as exc:
                self._fail(str(exc))
            except Exception as exc:  # a bug must not end monitoring of the cluster
                log.exception("cluster %s: monitor failed", self.spec.name)
                self._fail(f"internal error: {type(exc).__name__}: {exc}")
            await self._publish_safely(await self.evaluate_once())
            await asyncio.sleep(min(backoff, self.spec.interval))
            backoff = min(backoff * 2, 60.0)

    async def aclose(self) -> None:
        await self.client.aclose()
        if self.prometheus is not None:
            await self.prometheus.aclose()

    def _fail(self, message: str) -> None:
        self.connected = False
        self.synced = False
        self.error = message
        log.warning("cluster %s: %s", self.spec.name, message)

    async def _session(self) -> None:
        await self.sync()
        watchers = [
            asyncio.create_task(self._watch_loop(r), name=f"kube-watch-{self.spec.name}-{r.name}")
            for r in self.resources.values()
            if r.name in self.versions
        ]
        collected = asyncio.Event()
        watchers.append(
            asyncio.create_task(
                self._collect_loop(collected), name=f"kube-collect-{self.spec.name}"
            )
        )
        watchers.append(
            asyncio.create_task(self._kubelet_cert_loop(), name=f"kube-certs-{self.spec.name}")
        )
        # the first evaluation waits a little for usage and kubelet health, never long
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(collected.wait(), FIRST_COLLECT_WAIT)
        try:
            while True:
                await self._publish_safely(await self.evaluate_once())
                await asyncio.sleep(self.spec.interval)
                for w in watchers:
                    if w.done() and w.exception() is not None:
                        raise w.exception()  # type: ignore[misc]
        finally:
            for w in watchers:
                w.cancel()
            # A cancelled watch closes its TLS stream, which can wait for a peer that never
            # answers: give them a bounded time, then let them finish in the background.
            await asyncio.wait(watchers, timeout=WATCHER_STOP_TIMEOUT)

    async def _publish_safely(self, ev: Evaluation) -> None:
        if self.publish is None:
            return
        try:
            await self.publish(self.spec.name, ev)
        except Exception:
            log.exception("cluster %s: publishing the evaluation failed", self.spec.name)

    # ------------------------------------------------------------------ list and watch
    async def sync(self) -> None:
        """Connect and list every resource (concurrently). A 403 on one resource is noted
        (its services say so); a 401 or no answer fails the whole sync."""
        self.server_version = await self.client.version()
        self.denied = {}
        self.unserved = {}
        was_on = gc.isenabled()
        gc.disable()  # a bulk load of acyclic objects, as at site start-up
        try:
            results = await asyncio.gather(
                *(self._list(r) for r in RESOURCES), return_exceptions=True
            )
        finally:
            if was_on:
                gc.enable()
        for r, res in zip(RESOURCES, results, strict=True):
            older = r.fallback()
            if isinstance(res, ApiStatus) and res.status == 404 and older is not None:
                try:  # e.g. autoscaling/v2 before 1.23: the same fields in v2beta2
                    await self._list(older)
                    self.resources[r.name] = older
                    continue
                except KubeError as exc:
                    res = exc
            if isinstance(res, Forbidden):
                self.denied[r.name] = str(res)
                self.versions.pop(r.name, None)  # nothing to watch
            elif isinstance(res, ApiStatus) and res.status == 404:
                self.unserved[r.name] = str(res)  # e.g. batch/v1 CronJobs before 1.21
                self.versions.pop(r.name, None)
            elif isinstance(res, BaseException):
                raise res
        self.connected = True
        self.synced = True
        self.error = ""
        # The listed objects live until changed; keep them out of the cyclic collector's scans
        # (they hold no cycles; replaced objects are still freed by reference counting).
        gc.freeze()

    async def _list(self, res: Resource) -> None:
        items, version = await self.client.list_all(res)
        table: dict[str, Any] = {}
        for obj in items:
            m = obj.metadata
            table[key(m.namespace, m.name)] = obj
        setattr(self.objects, res.name, table)
        self.versions[res.name] = version

    async def _watch_loop(self, res: Resource) -> None:
        failures = 0
        while True:
            try:
                async for ev in self.client.watch(
                    res, self.versions[res.name], timeout_seconds=self.spec.watch_timeout
                ):
                    self.apply_event(res, ev)
                    failures = 0
            except Gone:
                self.relists += 1
                await self._list(res)
            except Unauthorized:
                raise
            except KubeError as exc:
                failures += 1
                self.error = str(exc)
                await asyncio.sleep(min(2.0**failures, 30.0))
                if failures >= 5:
                    self.relists += 1
                    await self._list(res)

    def apply_event(self, res: Resource, ev: WatchEvent[Any]) -> None:
        """Apply one watch event to the objects (BOOKMARK only moves the version)."""
        if ev.resource_version:
            self.versions[res.name] = ev.resource_version
        if ev.object is None:
            return
        table: dict[str, Any] = getattr(self.objects, res.name)
        m = ev.object.metadata
        k = key(m.namespace, m.name)
        if ev.type == "DELETED":
            table.pop(k, None)
        else:
            table[k] = ev.object
        self.changes += 1
        self.last_event_at = self.clock()

    # ------------------------------------------------------------------ evaluation
    async def evaluate_once(self) -> Evaluation:
        now = self.clock()
        if not self.connected:
            self.last = offline(self.spec.name, self.error or "not connected yet")
            return self.last
        health: dict[str, tuple[int | None, str]] = {}
        for path in ("/readyz", "/livez"):
            health[path] = await self.client.health(path)
        snapshot = Objects(**{k: dict(v) for k, v in vars(self.objects).items()})
        inp = ClusterInput(
            name=self.spec.name,
            objects=snapshot,
            now=now,
            usage=self.usage,
            server_version=self.server_version,
            health=health,
            kubelets=dict(self.kubelets),
            connected=self.connected,
            error=self.error,
            denied=dict(self.denied),
            unserved=dict(self.unserved),
            rejected={
                f"{r} {k}": why
                for r, objs in self.client.rejected.items()
                for k, why in objs.items()
            },
            last_event_age=None if self.last_event_at is None else now - self.last_event_at,
            relists=self.relists,
            params=self.spec.params,
            rules=self.spec.rules,
            pod_hosts=self.spec.pod_hosts,
            events={k: ev for k, (_, ev) in self.events.items() if ev is not None},
            warnings=self.warnings,
            api_cert=self.api_cert,
            api_cert_error=self.api_cert_error,
            kubelet_certs={k: (c, e) for k, (_, c, e) in self.kubelet_certs.items()},
        )
        ev = await asyncio.to_thread(_evaluate_without_gc, inp, self.memory)
        ev.partial = not self.synced
        self.last = ev
        return ev

    async def collect(self) -> None:
        """One round of the slow reads, apart from evaluations: usage (kubelet stats or
        Prometheus) and kubelet health of every node, events of stuck pods. Evaluations use
        the latest round, so a slow kubelet never holds up the cluster's services."""
        usage = await self._usage()
        kubelets: dict[str, tuple[int | None, str]] = {}
        if "nodes" not in self.denied:
            kubelets = await kubelet_usage.kubelet_health(self.client, list(self.objects.nodes))
        with contextlib.suppress(KubeError):  # 403: not allowed; the rest still counts
            self.warnings = await warning_events(self.client)
        self._stuck_pod_events(self.clock())
        await self._read_certificate()
        self.usage, self.kubelets = usage, kubelets

    async def read_kubelet_certificates(self) -> None:
        """One round of kubelet certificate reads (those due; see ``certs``)."""
        found = await kubelet_certificates(self.objects.nodes, self.kubelet_certs, self.clock())
        self.kubelet_certs.update(found)
        for gone in set(self.kubelet_certs) - set(self.objects.nodes):
            del self.kubelet_certs[gone]

    async def _kubelet_cert_loop(self) -> None:
        """Kubelet certificates, apart from the collect loop: most sites cannot reach node
        addresses, and a round of handshakes that time out must not delay usage."""
        while True:
            try:
                await self.read_kubelet_certificates()
            except Exception:  # a bug here must not restart the cluster's session
                log.exception("cluster %s: reading kubelet certificates failed", self.spec.name)
            await asyncio.sleep(max(self.spec.interval, 60.0))

    async def _read_certificate(self) -> None:
        if not self.spec.creds.server.startswith("https"):
            return
        try:
            if self._tls is None:
                self._tls = self.spec.creds.ssl_context()
            self.api_cert = await peer_certificate(self.spec.creds.server, self._tls)
            self.api_cert_error = ""
        except (KubeError, OSError, ValueError) as exc:  # OSError: ssl.SSLError of the CA
            self.api_cert, self.api_cert_error = None, str(exc)

    async def _collect_loop(self, collected: asyncio.Event) -> None:
        while True:
            started = time.monotonic()
            try:
                await self.collect()
            except KubeError as exc:
                self.usage = Usage(source=self.spec.usage, error=str(exc))
            collected.set()
            await asyncio.sleep(max(0.0, self.spec.interval - (time.monotonic() - started)))

    async def _usage(self) -> Usage:
        if self.spec.usage == "none":
            return Usage()
        try:
            if self.usage_reader is not None:
                return await self.usage_reader(self.objects)
            if self.spec.usage == "kubelet" and "nodes" in self.denied:
                return Usage(source="kubelet", error="may not list nodes (RBAC): no kubelet read")
            if self.spec.usage == "kubelet":
                return await kubelet_usage.from_kubelets(self.client, list(self.objects.nodes))
        except KubeError as exc:
            return Usage(source=self.spec.usage, error=str(exc))
        return Usage()

    def _stuck_pod_events(self, now: float) -> None:
        """The latest Warning event of each stuck pod (Pending, not unschedulable), from the
        cluster's Warning events of this round (names e.g. FailedMount)."""
        stuck = {k for k, p in self.objects.pods.items() if _stuck(p)}
        latest: dict[str, Event] = {}
        for e in self.warnings or ():
            ref = e.involved_object
            k = key(e.metadata.namespace or ref.namespace, ref.name)
            if (
                ref.kind in ("", "Pod")
                and k in stuck
                and (k not in latest or e.at() >= latest[k].at())
            ):
                latest[k] = e
        self.events = {k: (now, latest.get(k)) for k in stuck}


def _evaluate_without_gc(inp: ClusterInput, memory: Memory) -> Evaluation:
    """Evaluation allocates ~10 short-lived objects per service and no cycles; the cyclic
    collector would scan the whole heap many times meanwhile (a third of the time at 150,000
    pods). Paused for the evaluation only, and only if it was on."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        return evaluate(inp, memory)
    finally:
        if was_on:
            gc.enable()


def _stuck(pod: Pod) -> bool:
    if pod.status.phase != "Pending":
        return False
    for c in pod.status.conditions or ():
        if c.type == "PodScheduled" and c.status == "False":
            return False
    return True

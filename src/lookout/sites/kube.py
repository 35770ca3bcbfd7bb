"""The site's Kubernetes part: the connected clusters, one monitor task each, and the path
from a monitor's evaluation to hosts, services and results (one transaction per change set).

Sources may not import the engine; this module wires them: a monitor calls ``publish``, which
plans against the engine's objects and applies through the site. The Kubernetes sources are
imported when a cluster is configured (most sites have none; ``lookout serve`` starts sooner).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from lookout.config import KubernetesSettings
from lookout.engine.inputs import Results
from lookout.errors import NotFound, ValidationError
from lookout.storage import kube as store
from lookout.storage.vault import Vault

if TYPE_CHECKING:
    from lookout.checks.kube.evaluate import Evaluation
    from lookout.sources.kube.mapping import Mapper
    from lookout.sources.kube.monitor import ClusterMonitor, ClusterSpec
    from lookout.wire.clusters import ClusterIn, ClusterPatch

log = logging.getLogger(__name__)

STOP_TIMEOUT = 5.0
"""Seconds to wait for a stopped cluster's connections to close."""
RESULT_CHUNK = 20_000
"""Results per journaled input (bounds one journal row)."""


@dataclass
class Cluster:
    row: dict[str, Any]
    monitor: ClusterMonitor
    mapper: Mapper
    task: asyncio.Task[None] | None = None
    last_publish: float | None = None
    last_changes: int = 0


class KubeManager:
    def __init__(
        self, site: Any, settings: KubernetesSettings, site_dir: Path, clock: Callable[[], float]
    ) -> None:
        self.site = site
        self.settings = settings
        self.vault = Vault(site_dir)
        self.clock = clock
        self.clusters: dict[str, Cluster] = {}
        self._lock = asyncio.Lock()
        self._changing = asyncio.Lock()
        """One settings change at a time: two would both stop the old monitor."""

    # ------------------------------------------------------------------ life cycle
    async def start(self) -> None:
        if not self.settings.enabled:
            return
        saved = await asyncio.to_thread(store.load_states, self.site.db)
        for row in await asyncio.to_thread(store.list_clusters, self.site.db):
            try:
                self._start(row, saved.get(row["name"]))
            except Exception as exc:  # a broken row must not stop the site
                log.error("cluster %s: cannot start monitoring: %s", row["name"], exc)

    async def stop(self) -> None:
        for c in list(self.clusters.values()):
            await self._stop(c)
        self.clusters.clear()

    def _start(self, row: dict[str, Any], saved: store.SavedState | None = None) -> None:
        from lookout.sources.kube import state as kube_state

        cluster = self._prepare(row, self.spec_of(row))
        kube_state.restore(cluster.monitor, cluster.mapper, saved)
        self._launch(cluster)

    def _prepare(self, row: dict[str, Any], spec: ClusterSpec) -> Cluster:
        """The cluster's mapper and monitor, not yet running (builds its HTTP clients)."""
        from lookout.sources.kube.mapping import Mapper, MappingSettings
        from lookout.sources.kube.monitor import ClusterMonitor

        mapper = Mapper(
            spec.name,
            MappingSettings(
                interval=spec.interval,
                max_check_attempts=self.settings.max_check_attempts,
                stale_after=self.site.settings.services.stale_after,
                grace=self.settings.grace,
            ),
        )
        monitor = ClusterMonitor(spec, self.publish, clock=self.clock)
        return Cluster(row, monitor, mapper)

    def _launch(self, cluster: Cluster) -> None:
        name = cluster.row["name"]
        cluster.task = asyncio.create_task(cluster.monitor.run(), name=f"kube-{name}")
        self.clusters[name] = cluster

    async def _stop(self, c: Cluster) -> None:
        if c.task is not None:
            c.task.cancel()
            # bounded: a task that is closing TLS streams to a silent server must not hold up
            # removing its cluster or stopping the site
            await asyncio.wait([c.task], timeout=STOP_TIMEOUT)
        # closing TLS connections waits for the peer; an unresponsive API server must not
        # hold up removing its cluster or stopping the site
        try:
            await asyncio.wait_for(c.monitor.aclose(), STOP_TIMEOUT)
        except TimeoutError:
            log.warning(
                "cluster %s: connections not closed within %ss", c.row["name"], STOP_TIMEOUT
            )

    def spec_of(self, row: dict[str, Any]) -> ClusterSpec:
        from lookout.sources.kube.client import Timeouts
        from lookout.sources.kube.credentials import Credentials, read_token_file
        from lookout.sources.kube.monitor import ClusterSpec

        opts = row.get("options") or {}
        token = ""
        if row.get("token_encrypted"):
            token = self.vault.open(row["token_encrypted"])
        elif row.get("token_file"):
            token = read_token_file(Path(row["token_file"]))
        key = (
            self.vault.open(row["client_key_encrypted"]) if row.get("client_key_encrypted") else ""
        )
        creds = Credentials(
            server=row["server"],
            token=token,
            ca_data=row.get("ca_data") or "",
            client_cert=row.get("client_cert") or "",
            client_key=key,
            insecure=bool(row.get("insecure")),
        )
        return ClusterSpec(
            name=row["name"],
            creds=creds,
            interval=float(opts.get("interval") or self.settings.interval),
            usage=opts.get("usage", "kubelet"),
            prometheus_url=opts.get("prometheus_url", ""),
            params=opts.get("params", {}),
            rules=opts.get("rules", []),
            pod_hosts=opts.get("pod_hosts"),
            timeouts=Timeouts(self.settings.connect_timeout, self.settings.read_timeout),
        )

    # ------------------------------------------------------------------ clusters
    def seal(self, secret: str) -> str:
        return self.vault.seal(secret)

    async def create(self, body: ClusterIn) -> dict[str, Any]:
        """Check ``body`` (:class:`lookout.sites.kube_settings.Refused` names each field that
        cannot be used), store it and start monitoring it; returns the stored row."""
        from lookout.sites import kube_settings

        found = kube_settings.problems(body)
        if found:
            raise kube_settings.Refused(found)
        row = kube_settings.row_of(body, self.vault, self.clock())
        await self.add(row)
        await self.site.audit.record("cluster", body.name, "create", after=row)
        return row

    async def update(self, name: str, patch: ClusterPatch) -> dict[str, Any]:
        """Change ``name``'s settings in place: checked as a new cluster would be, stored, and
        its monitor restarted with them (hosts and their history stay). Returns the new row."""
        from lookout.sites import kube_settings
        from lookout.sources.kube import state as kube_state

        async with self._changing:
            old = await self.row(name)
            body = kube_settings.changed(old, patch, self.vault)
            row = kube_settings.row_of(body, self.vault, self.clock(), old["created_at"])
            cluster = self._prepared(row)
            try:
                await asyncio.to_thread(store.update_cluster, self.site.db, row)
            except BaseException:
                await cluster.monitor.aclose()
                raise
            previous = self.clusters.pop(name, None)
            if previous is not None:
                await self._stop(previous)
                kube_state.restore(
                    cluster.monitor,
                    cluster.mapper,
                    kube_state.snapshot(previous.monitor, previous.mapper, self.clock()),
                )
            if self.settings.enabled:
                self._launch(cluster)
            else:
                await cluster.monitor.aclose()
        await self.site.audit.record("cluster", name, "change", before=old, after=row)
        return row

    async def row(self, name: str) -> dict[str, Any]:
        for row in await self.rows():
            if row["name"] == name:
                return row
        raise NotFound(f"no cluster named {name!r}")

    def _prepared(self, row: dict[str, Any]) -> Cluster:
        """``row``'s cluster ready to launch, or :class:`ValidationError` naming the field:
        the stored secrets open, the credentials are usable, the monitor and its clients
        build."""
        from lookout.sources.kube.credentials import problems as credential_problems

        spec = self.spec_of(row)  # the stored secrets must open before we keep the row
        unusable = credential_problems(spec.creds)
        if unusable:
            field, why = unusable[0]
            raise ValidationError(f"{field}: {why}", (field,))
        try:
            return self._prepare(row, spec)
        except (ValueError, OSError, httpx.InvalidURL) as exc:
            raise ValidationError(f"cluster {row['name']!r} cannot be used: {exc}") from exc

    async def add(self, row: dict[str, Any]) -> None:
        """Store ``row`` and start monitoring it, all or nothing: whatever can fail (the
        secrets open, the credentials are usable, the monitor and its clients build) is done
        before the row is stored, in one transaction; should starting fail after all, the row
        is removed again. A failure raises :class:`ValidationError` naming the field."""
        cluster = self._prepared(row)
        stored = False
        try:
            await asyncio.to_thread(store.add_cluster, self.site.db, row)
            stored = True
            if self.settings.enabled:
                self._launch(cluster)
            else:
                await cluster.monitor.aclose()
        except BaseException:
            if self.clusters.get(row["name"]) is cluster:
                del self.clusters[row["name"]]
            await self._stop(cluster)
            if stored:
                await asyncio.to_thread(store.delete_cluster, self.site.db, row["name"])
            raise

    async def remove(self, name: str) -> int:
        """Stop monitoring ``name`` and remove its hosts (their history stays). Returns how
        many hosts were removed."""
        from lookout.sources.kube.mapping import all_hosts_of

        async with self._changing:
            old = next((r for r in await self.rows() if r["name"] == name), None)
            await asyncio.to_thread(store.delete_cluster, self.site.db, name)
            c = self.clusters.pop(name, None)
            if c is not None:
                await self._stop(c)
        async with self._lock:
            gone = all_hosts_of(name, self.site.engine.hosts)
            await self.site.apply_batch([], [], [], gone)
        summary = f"with its {len(gone)} hosts" if gone else ""
        await self.site.audit.record("cluster", name, "delete", summary=summary, before=old)
        return len(gone)

    async def rows(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = await asyncio.to_thread(store.list_clusters, self.site.db)
        return rows

    def status(self, name: str) -> dict[str, Any]:
        c = self.clusters.get(name)
        if c is None:
            return {"monitoring": False}
        from lookout.sources.kube.mapping import all_hosts_of

        m = c.monitor
        hosts = all_hosts_of(name, self.site.engine.hosts)
        return {
            "monitoring": True,
            "connected": m.connected,
            "error": m.error,
            "server_version": m.server_version,
            "objects": m.objects.count(),
            "denied": sorted(m.denied),
            "relists": m.relists,
            "watch_changes": m.changes,
            "hosts": len(hosts),
            "last_evaluation": c.last_publish,
            "last_config_changes": c.last_changes,
        }

    # ------------------------------------------------------------------ evaluation → site
    async def publish(self, cluster: str, ev: Evaluation) -> None:
        c = self.clusters.get(cluster)
        if c is None:
            return
        async with self._lock:
            now = self.clock()
            engine = self.site.engine
            plan = c.mapper.plan(ev, engine.hosts, engine.host_services, now)
            if plan.changes():
                await self.site.apply_batch(
                    plan.hosts, plan.services, plan.remove_services, plan.remove_hosts
                )
            for i in range(0, len(plan.results), RESULT_CHUNK):
                await self.site.runner.apply(
                    Results(at=self.clock(), results=plan.results[i : i + RESULT_CHUNK])
                )
            c.last_publish = now
            c.last_changes = plan.changes()
            if not ev.partial:  # a partial evaluation changed nothing remembered
                from lookout.sources.kube import state as kube_state

                saved = await asyncio.to_thread(kube_state.snapshot, c.monitor, c.mapper, now)
                await asyncio.to_thread(store.save_state, self.site.db, cluster, saved)

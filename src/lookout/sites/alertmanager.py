"""Wires the Alertmanager integration to the site: the webhook's receiver (objects and results
through the site's own paths) and, when ``[alertmanager] url`` is set, the silence sync."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

import httpx

from lookout.domain.objects import HostConfig, ServiceConfig
from lookout.domain.results import CheckResult
from lookout.engine.inputs import Results
from lookout.errors import ConfigError
from lookout.integrations.alertmanager.client import AlertmanagerClient
from lookout.integrations.alertmanager.receiver import AlertReceiver
from lookout.integrations.alertmanager.silences import SilenceSync

if TYPE_CHECKING:
    from lookout.sites.site import Site


class _Hooks:
    def __init__(self, site: Site) -> None:
        self.site = site

    def host(self, name: str) -> HostConfig | None:
        return self.site.engine.hosts.get(name)

    def service(self, host: str, name: str) -> ServiceConfig | None:
        return self.site.engine.services.get((host, name))

    async def create(self, hosts: list[HostConfig], services: list[ServiceConfig]) -> None:
        await self.site.apply_batch(hosts, services, [], [])

    async def submit(self, results: list[CheckResult]) -> None:
        await self.site.runner.apply(Results(at=self.site.clock(), results=results))


class Alertmanager:
    """The site's Alertmanager integration: ``receiver`` always, ``sync`` with a URL."""

    def __init__(self, site: Site) -> None:
        cfg = site.settings.alertmanager
        hooks = _Hooks(site)
        self.receiver = AlertReceiver(cfg, hooks)
        self.sync: SilenceSync | None = None
        self._http: httpx.AsyncClient | None = None
        self._task: asyncio.Task[None] | None = None
        if cfg.url:
            headers = {}
            if cfg.token_file:
                headers["Authorization"] = f"Bearer {_token(site, cfg.token_file)}"
            self._http = httpx.AsyncClient(
                base_url=cfg.url.rstrip("/"), headers=headers, timeout=10.0
            )
            self.sync = SilenceSync(
                cfg,
                AlertmanagerClient(self._http),
                site.engine,
                site.actions,
                site.bus,
                site.db,
                site.clock,
                hooks.submit,
            )

    async def start(self) -> None:
        if self.sync is not None:
            self._task = asyncio.create_task(self.sync.run(), name="lookout-am-silences")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._http is not None:
            await self._http.aclose()


def _token(site: Site, name: str) -> str:
    path = site.dir / name
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"[alertmanager] token_file {str(path)!r}: {exc}") from exc

"""Self-monitoring of notification channels: a passive service per channel on a host named
after the site (``lookout`` / ``Notifications zulip``), CRIT while the channel is failing and
OK again once it delivers. Rules can route it to another channel (mail when Zulip is down).

Created the first time a channel fails, so sites whose channels never fail have no such host.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from lookout.domain.objects import HostConfig, ServiceConfig
from lookout.domain.results import CheckResult
from lookout.engine.inputs import Results
from lookout.errors import LookoutError
from lookout.notify.health import ChannelHealth
from lookout.notify.render import stamp

if TYPE_CHECKING:
    from lookout.sites.site import Site

log = logging.getLogger(__name__)

LABEL = "lookout/self"


def service_name(channel: str) -> str:
    return f"Notifications {channel}"


def result(host: str, h: ChannelHealth) -> CheckResult:
    service = service_name(h.channel)
    if h.failing_since is not None:
        summary = f"failing since {stamp(h.failing_since)}: {h.error}"
        return CheckResult(host, service, 2, summary)
    return CheckResult(host, service, 0, f"delivering (since {stamp(h.since)})")


class ChannelMonitor:
    """Listens to the dispatcher's channel health and reports it as check results."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.host = site.settings.site_name
        self._queue: asyncio.Queue[ChannelHealth] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        site.notifier.dispatcher.health.listeners.append(self._queue.put_nowait)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="lookout-channel-monitor")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            h = await self._queue.get()
            try:
                await self.report(h)
            except LookoutError as exc:
                log.warning("self-monitoring of channel %s: %s", h.channel, exc)

    async def report(self, h: ChannelHealth) -> None:
        site, engine = self.site, self.site.engine
        if not h.failing and (self.host, service_name(h.channel)) not in engine.services:
            return  # nothing to clear
        if self.host not in engine.hosts:
            cfg = HostConfig(name=self.host, labels={LABEL: "site"})
            await site.save_host(cfg, create=True)
        if (self.host, service_name(h.channel)) not in engine.services:
            svc = ServiceConfig(
                host=self.host,
                name=service_name(h.channel),
                max_check_attempts=1,
                stale_after=0,
                labels={LABEL: "notification-channel"},
            )
            await site.save_service(svc, create=True)
        await site.runner.apply(Results(at=site.clock(), results=[result(self.host, h)]))

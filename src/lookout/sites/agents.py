"""Wires the agent receiver (a data source) to the site: it may create passive services and
submit results, but it does not import the engine."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lookout.domain.objects import ServiceConfig
from lookout.domain.results import CheckResult
from lookout.engine.inputs import Results
from lookout.sources.agent_receiver.receiver import AgentReceiver

if TYPE_CHECKING:
    from lookout.sites.site import Site


class AgentHooks:
    def __init__(self, site: Site) -> None:
        self.site = site

    def host_exists(self, host: str) -> bool:
        return host in self.site.engine.hosts

    def services_of(self, host: str) -> dict[str, ServiceConfig]:
        return self.site.engine.host_services.get(host, {})

    async def add_services(self, services: list[ServiceConfig]) -> None:
        """Store the newly discovered services in one transaction, then hand them to the
        engine."""
        fresh = [s for s in services if (s.host, s.name) not in self.site.engine.services]
        if fresh:
            await self.site.apply_batch([], fresh, [], [])

    async def update_services(self, services: list[ServiceConfig]) -> None:
        known = [s for s in services if (s.host, s.name) in self.site.engine.services]
        if known:
            await self.site.apply_batch([], known, [], [])

    async def submit(self, results: list[CheckResult]) -> None:
        live = [r for r in results if r.host in self.site.engine.hosts]
        if live:
            await self.site.runner.apply(Results(at=self.site.clock(), results=live))


def make_receiver(site: Site) -> AgentReceiver | None:
    s = site.settings.agent_receiver
    if not s.enabled:
        return None
    return AgentReceiver(
        s, site.dir, site.settings.site_name, site.db, AgentHooks(site), site.clock
    )

"""Alertmanager's webhook into Lookout: alerts become passive services and their results.

Hosts and services are created on first sight, labelled ``lookout/source=alertmanager``; the
results go through the site's one results path (journaled, the same engine as every other).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from lookout.config import AlertmanagerSettings
from lookout.domain.objects import HostConfig, ServiceConfig
from lookout.domain.results import CheckResult
from lookout.integrations.alertmanager.mapping import (
    SOURCE,
    SOURCE_LABEL,
    AlertService,
    alert_services,
)
from lookout.wire.alertmanager import Webhook


class SiteHooks(Protocol):
    """What the receiver needs from the site (``sites/alertmanager.py`` fills it)."""

    def host(self, name: str) -> HostConfig | None: ...

    def service(self, host: str, name: str) -> ServiceConfig | None: ...

    async def create(self, hosts: list[HostConfig], services: list[ServiceConfig]) -> None: ...

    async def submit(self, results: list[CheckResult]) -> None: ...


@dataclass(frozen=True, slots=True)
class Received:
    """What one webhook did."""

    alerts: int
    created_hosts: list[str]
    created_services: list[tuple[str, str]]

    def as_dict(self) -> dict[str, object]:
        return {
            "alerts": self.alerts,
            "created_hosts": self.created_hosts,
            "created_services": [{"host": h, "service": s} for h, s in self.created_services],
        }


class AlertReceiver:
    def __init__(self, cfg: AlertmanagerSettings, hooks: SiteHooks) -> None:
        self.cfg = cfg
        self.hooks = hooks

    async def receive(self, webhook: Webhook) -> Received:
        alerts = alert_services(webhook, self.cfg)
        hosts, services = self._new_objects(alerts)
        if hosts or services:
            await self.hooks.create(hosts, services)
        await self.hooks.submit([a.result for a in alerts])
        return Received(
            alerts=len(alerts),
            created_hosts=[h.name for h in hosts],
            created_services=[(s.host, s.name) for s in services],
        )

    def _new_objects(
        self, alerts: list[AlertService]
    ) -> tuple[list[HostConfig], list[ServiceConfig]]:
        """Hosts and services to create, and services whose alert labels changed (the
        params keep the latest labels, fingerprint and link)."""
        hosts: dict[str, HostConfig] = {}
        services: dict[tuple[str, str], ServiceConfig] = {}
        for a in alerts:
            if self.hooks.host(a.host) is None and a.host not in hosts:
                hosts[a.host] = HostConfig(name=a.host, labels={SOURCE_LABEL: SOURCE})
            known = self.hooks.service(a.host, a.service)
            if known is not None and (
                known.params == a.params or known.labels.get(SOURCE_LABEL) != SOURCE
            ):
                continue  # unchanged, or a service of its own that merely has this name
            services[(a.host, a.service)] = ServiceConfig(
                host=a.host,
                name=a.service,
                check=None,
                max_check_attempts=1,  # Alertmanager waited out the rule's `for:` already
                stale_after=0,  # it re-sends only every repeat_interval
                params=a.params,
                labels={**(known.labels if known else {}), SOURCE_LABEL: SOURCE},
            )
        return list(hosts.values()), list(services.values())

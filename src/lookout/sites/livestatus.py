"""Wires the Livestatus server to the site: what its tables read, and its TLS certificate."""

from __future__ import annotations

import asyncio
import ssl
from typing import TYPE_CHECKING

from lookout import __version__
from lookout.domain.events import Event
from lookout.livestatus.data import ContactInfo, SiteData
from lookout.livestatus.server import LivestatusServer
from lookout.livestatus.tables import build_tables
from lookout.sources.agent_receiver.ca import SiteCA, default_hostnames

if TYPE_CHECKING:
    from lookout.sites.site import Site


def make_livestatus(site: Site) -> LivestatusServer | None:
    s = site.settings.livestatus
    if not s.enabled and not s.tcp:
        return None
    data = SiteData(
        engine=site.engine,
        actions=site.actions,
        clock=site.clock,
        started_at=site.clock(),
        version=__version__,
        site_name=site.settings.site_name,
        recent_events=site.runner.recent_events,
        stored_events=lambda start, end, limit: site.store.query_events(
            start=start, end=end, limit=limit
        ),
        contacts=lambda: _contacts(site),
        commands=lambda: {n: c.line for n, c in site.commands.commands.items()},
        group_aliases=lambda: site.group_aliases,
        flap_detection=site.settings.flapping.enabled,
        event_handlers=site.settings.execution.event_handlers,
        stats_reuse=s.stats_reuse,
    )

    async def fetch_log(since: float | None, until: float | None, limit: int) -> list[Event]:
        def keep(e: Event) -> bool:
            return (since is None or e.at >= since) and (until is None or e.at <= until)

        recent = [e for e in data.recent_events() if keep(e)]
        stored = await asyncio.to_thread(data.stored_events, since, until, limit)
        seen = {e.id for e in recent}
        merged = recent + [e for e in stored if e.id not in seen]
        merged.sort(key=lambda e: (e.at, e.id), reverse=True)
        return merged[:limit]

    path = site.dir / s.socket if s.enabled else None
    tls = _tls(site) if s.tcp and s.tls else None
    return LivestatusServer(data, build_tables(data, fetch_log), s, path, tls)


def _contacts(site: Site) -> list[ContactInfo]:
    d = site.notifier.directory
    names = sorted(set(d.contacts) | set(d.emails))
    return [
        ContactInfo(
            name=n,
            email=d.emails.get(n, ""),
            groups=tuple(d.contacts[n].groups) if n in d.contacts else (),
        )
        for n in names
    ]


def _tls(site: Site) -> ssl.SSLContext:
    """A server context with the site CA's server certificate (the agent receiver's)."""
    ca = SiteCA.ensure(site.dir, site.settings.site_name)
    cert, key = ca.server_cert(default_hostnames(site.settings.agent_receiver.hostnames))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    return ctx

"""A central site: its remote sites (``lookout remote add``), their objects merged with the
site's own for the API and the UI, and actions carried to the site that owns an object
(issue 12). Every read here is from memory: the local engine and each remote's cache."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec

from lookout.domain.states import state_name
from lookout.errors import NotFound, ValidationError
from lookout.sites.changefeed import remote_object
from lookout.sites.remote_link import Answer, RemoteFailure, RemoteLink, short, tls_context
from lookout.storage import remotes
from lookout.storage.remotes import RemoteRow
from lookout.wire.central import RemoteObject

if TYPE_CHECKING:
    from lookout.sites.site import Site

log = logging.getLogger(__name__)

ACTIONS = ("acknowledge", "schedule-downtime", "comment", "recheck")
"""The actions a central site carries to a remote (``POST /api/v1/actions/<name>`` there)."""
_RANK = {2: 0, 3: 1, 1: 2, 0: 3}
MEMO_SIZE = 16
"""Listings remembered (one per filter asked lately)."""


@dataclass(frozen=True, slots=True)
class Filter:
    site: str | None = None
    host: str | None = None
    service: str | None = None
    """Substring of the service name."""
    states: frozenset[int] = frozenset()
    handled: bool | None = None
    hosts: bool = False
    """Hosts instead of services."""


class Central:
    def __init__(self, site: Site) -> None:
        self.site = site
        self.links: dict[str, RemoteLink] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._memo: dict[Filter, tuple[tuple[Any, ...], list[tuple[str, RemoteObject]]]] = {}
        """Listings by filter, kept while no cache and no local state moved (pages poll)."""

    @property
    def name(self) -> str:
        return self.site.settings.site_name

    # ------------------------------------------------------------------ life cycle
    async def start(self) -> None:
        rows = await asyncio.to_thread(remotes.list_remotes, self.site.db, self.site.vault)
        for row in rows:
            self._start(row)

    def _start(self, row: RemoteRow) -> None:
        link = RemoteLink(row, self.site.settings.central, self.site.clock)
        self.links[row.name] = link
        self._tasks[row.name] = asyncio.create_task(link.run(), name=f"lookout-remote-{row.name}")

    async def _stop(self, name: str) -> None:
        task = self._tasks.pop(name, None)
        link = self.links.pop(name, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if link is not None:
            await link.aclose()

    async def stop(self) -> None:
        for name in list(self.links):
            await self._stop(name)

    # ------------------------------------------------------------------ the registry
    async def add(self, row: RemoteRow) -> None:
        if row.name == self.name:
            raise ValidationError(f"{row.name!r} is this site's own name", ("name",))
        if row.url.startswith("http://") and not row.allow_http:
            raise ValidationError(
                "a plain http:// URL sends the token in clear: use https, or allow_http "
                "(--allow-http) on a network you trust",
                ("url",),
            )
        if row.ca_pem:
            try:
                tls_context(row.ca_pem)
            except (ValueError, OSError) as exc:
                raise ValidationError(f"not a PEM CA certificate: {exc}", ("ca",)) from exc
        await asyncio.to_thread(remotes.add_remote, self.site.db, self.site.vault, row)
        self._start(row)
        after = {"url": row.url, "token": row.token, "allow_http": row.allow_http}
        await self.site.audit.record("remote", row.name, "create", after=after)

    async def remove(self, name: str) -> None:
        await asyncio.to_thread(remotes.remove_remote, self.site.db, name)
        await self._stop(name)
        await self.site.audit.record("remote", name, "delete")

    def health(self) -> list[dict[str, Any]]:
        return [self.health_of(link) for link in self.links.values()]

    def health_of(self, link: RemoteLink) -> dict[str, Any]:
        state = "ok" if link.error is None and link.synced_at is not None else "unreachable"
        if link.error is None and link.synced_at is None:
            state = "connecting"
        return {
            "name": link.name,
            "url": link.url,
            "remote_site": link.remote_site or None,
            "state": state,
            "synced_at": link.synced_at,
            "stale_since": link.synced_at if link.error is not None else None,
            "failing_since": link.failing_since,
            "error": link.error,
            "objects": len(link.objects),
            "problems": len(link.problems),
        }

    def version(self) -> int:
        """Moves when any remote's cache or health changes (the UI's live marker)."""
        return sum(link.version for link in self.links.values())

    def link(self, name: str) -> RemoteLink:
        link = self.links.get(name)
        if link is None:
            raise NotFound(f"remote site {name!r} not found")
        return link

    # ------------------------------------------------------------------ reads
    def sites(self) -> list[str]:
        return [self.name, *self.links]

    def rows(self, f: Filter) -> list[tuple[str, RemoteObject]]:
        """Objects of every site (or ``f.site``) that pass ``f``; problems (``states`` without
        0) sorted unhandled first, then worst and oldest."""
        if f.site is not None and f.site != self.name and f.site not in self.links:
            raise NotFound(f"site {f.site!r} is neither this site nor one of its remotes")
        eng = self.site.engine
        key = (
            eng.counters.events,
            eng.counters.results,
            eng.counters.actions,
            eng.counters.changes,
            len(eng.status),
            tuple((name, link.version) for name, link in self.links.items()),
        )
        memo = self._memo.get(f)
        if memo is not None and memo[0] == key:
            return memo[1]
        out = [row for row in self._candidates(f) if _passes(row[1], f)]
        out.sort(key=lambda r: (r[1].handled, _RANK[r[1].state], r[1].last_state_change))
        if len(self._memo) >= MEMO_SIZE:
            self._memo.pop(next(iter(self._memo)))
        self._memo[f] = (key, out)
        return out

    def _candidates(self, f: Filter) -> Iterator[tuple[str, RemoteObject]]:
        problems_only = bool(f.states) and 0 not in f.states
        if f.site in (None, self.name):
            eng = self.site.engine
            for st in eng.status.values():
                if (not st.service) != f.hosts or (problems_only and st.state == 0):
                    continue
                yield self.name, remote_object(eng, st)
        for name, link in self.links.items():
            if f.site not in (None, name):
                continue
            keys = link.problems if problems_only else link.objects.keys()
            objects = link.objects
            for key in list(keys):
                obj = objects.get(key)
                if obj is not None and (not obj.service) == f.hosts:
                    yield name, obj

    # ------------------------------------------------------------------ actions
    async def act(self, site: str, action: str, body: dict[str, Any], user: str) -> Answer:
        """Carry an action to the remote that owns its object, authored ``<user> via <the
        remote's user of our token>``; the remote's answer or refusal comes back as it is."""
        if action not in ACTIONS:
            raise NotFound(f"no action {action!r} (one of {', '.join(ACTIONS)})")
        link = self.link(site)
        if not link.caller:
            raise RemoteFailure(
                f"remote site {site} has not answered yet"
                + (f": {link.error}" if link.error else "")
            )
        payload = {k: v for k, v in body.items() if k != "site" and v is not None}
        payload["author"] = f"{short(user)} via {link.caller}"
        return await link.act(f"/actions/{action}", payload)


def _passes(obj: RemoteObject, f: Filter) -> bool:
    return (
        (not f.states or obj.state in f.states)
        and (f.handled is None or obj.handled == f.handled)
        and (f.host is None or obj.host == f.host)
        and (f.service is None or f.service in obj.service)
    )


def row_view(site: str, obj: RemoteObject, *, hosts: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"site": site, **msgspec.structs.asdict(obj)}
    out["state_name"] = state_name(obj.state, is_host=hosts) if obj.checked else "PENDING"
    out["state_type"] = "hard" if obj.hard else "soft"
    if hosts:
        del out["service"]
    return out

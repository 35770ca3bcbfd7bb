"""A central site: its remote sites (``lookout remote add``), their objects merged with the
site's own for the API and the UI, and actions carried to the site that owns an object
(issue 12). Every read here is from memory: the local engine and each remote's cache."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace
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
"""Listings remembered per site (one per filter asked lately)."""
Row = tuple[str, RemoteObject]
"""A site's name and one of its objects."""


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


def row_order(row: Row) -> tuple[bool, int, float]:
    obj = row[1]
    return (obj.handled, _RANK[obj.state], obj.last_state_change)


@dataclass(frozen=True, slots=True)
class _Part:
    version: Any
    rows: list[Row]
    unhandled: int


@dataclass(frozen=True, slots=True)
class Listing:
    """The rows of a filter: each site's rows sorted on their own and merged only as far as
    a page needs (a change on one site sorts that site's rows again, not every site's)."""

    parts: tuple[list[Row], ...]
    total: int
    unhandled: int
    """Rows not handled (acknowledged, in downtime, host down)."""

    def slice(self, start: int, stop: int) -> list[Row]:
        """Rows ``start`` to ``stop`` (exclusive) of the merged order."""
        if len(self.parts) == 1:
            return self.parts[0][start:stop]
        return list(itertools.islice(heapq.merge(*self.parts, key=row_order), start, stop))


class Central:
    def __init__(self, site: Site) -> None:
        self.site = site
        self.links: dict[str, RemoteLink] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._memo: dict[tuple[Filter, str], _Part] = {}
        """Each site's sorted rows by filter, kept while its cache (or, for this site, its
        state) does not move: pages poll, and a change on one site sorts only its rows."""

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
        for key in [k for k in self._memo if k[1] == name]:
            del self._memo[key]  # a remote added again under this name starts at version 0
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

    def rows(self, f: Filter) -> Listing:
        """Objects of every site (or ``f.site``) that pass ``f``; problems (``states`` without
        0) sorted unhandled first, then worst and oldest."""
        if f.site is not None and f.site != self.name and f.site not in self.links:
            raise NotFound(f"site {f.site!r} is neither this site nor one of its remotes")
        parts = [self._part(f, name) for name in self.sites() if f.site in (None, name)]
        return Listing(
            tuple(p.rows for p in parts if p.rows),
            sum(len(p.rows) for p in parts),
            sum(p.unhandled for p in parts),
        )

    def _part(self, f: Filter, name: str) -> _Part:
        """One site's rows for ``f``, sorted; made again only when that site's cache (or,
        for this site, the engine's counters) moved since."""
        if name == self.name:
            eng = self.site.engine
            c = eng.counters
            version: Any = (c.events, c.results, c.actions, c.changes, len(eng.status))
        else:
            version = self.links[name].version
        key = (replace(f, site=None), name)
        part = self._memo.pop(key, None)
        if part is None or part.version != version:
            rows = [(name, obj) for obj in self._objects(f, name) if _passes(obj, f)]
            rows.sort(key=row_order)
            part = _Part(version, rows, sum(1 for _, o in rows if not o.handled))
        self._memo[key] = part  # the most recent last
        while len(self._memo) > MEMO_SIZE * len(self.sites()):
            self._memo.pop(next(iter(self._memo)))
        return part

    def _objects(self, f: Filter, name: str) -> Iterator[RemoteObject]:
        problems_only = bool(f.states) and 0 not in f.states
        if name == self.name:
            eng = self.site.engine
            for st in eng.status.values():
                if (not st.service) != f.hosts or (problems_only and st.state == 0):
                    continue
                yield remote_object(eng, st)
            return
        link = self.links[name]
        keys = link.problems if problems_only else link.objects.keys()
        objects = link.objects
        for key in list(keys):
            obj = objects.get(key)
            if obj is not None and (not obj.service) == f.hosts:
                yield obj

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

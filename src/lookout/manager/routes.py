"""Where the front door sends a site's traffic: the sites' records (``ROOT/state/NAME.json``),
read again when the state directory changed (a record is replaced by a rename, which changes
the directory's modification time) and at least every ``MAX_AGE`` seconds (two changes within
one tick of the file system's clock leave the same time)."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

from lookout.errors import ConfigError, LookoutError
from lookout.manager.root import Root, check_name

MAX_AGE = 1.0


@dataclass(frozen=True, slots=True)
class Route:
    name: str
    http_port: int
    agent_port: int
    running: bool
    """The site is wanted running (a stopped site is answered 503, its agents closed)."""


class Routes:
    def __init__(self, root: Root) -> None:
        self.root = root
        self._dir = root.path / "state"
        self._seen: int | None = None
        self._read_at = 0.0
        self._routes: dict[str, Route] = {}

    def get(self, name: str) -> Route | None:
        """The route of site ``name`` (None: no such site)."""
        try:
            check_name(name)
        except ConfigError:
            return None
        self._refresh()
        return self._routes.get(name)

    def _refresh(self) -> None:
        try:
            stamp = self._dir.stat().st_mtime_ns
        except OSError:
            self._routes, self._seen = {}, None
            return
        now = time.monotonic()
        if stamp == self._seen and now - self._read_at < MAX_AGE:
            return
        routes = {}
        for name in self.root.names():
            with contextlib.suppress(LookoutError, TypeError):
                rec = self.root.record(name)
                routes[name] = Route(name, rec.http_port, rec.agent_port, rec.wanted == "running")
        self._routes, self._seen, self._read_at = routes, stamp, now

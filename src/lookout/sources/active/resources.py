"""A Nagios resource file (``$USERn$`` macros) that is read again when it changes.

Checks ask for the macros on every run; the file's identity (inode, size, modification time)
is looked at no more than once per ``every`` seconds, so a changed file is picked up within
that time without a restart and without a ``stat`` per check. A file that cannot be read
keeps the macros read last (and says so in the log); a file that is removed gives the
defaults, as at start.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from pathlib import Path

from lookout.domain.commands import resource_macros

log = logging.getLogger(__name__)
Stamp = tuple[int, int, int] | None


def _stamp(path: Path) -> Stamp:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class ResourceFile:
    """The ``$USERn$`` macros of ``path``, current within ``every`` seconds."""

    def __init__(
        self, path: Path, every: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.path = path
        self.every = every
        self.clock = clock
        self._checked = -math.inf
        self._stamp: Stamp = None
        self.macros: dict[str, str] = resource_macros(None)
        self.current()

    def current(self) -> dict[str, str]:
        """The macros, read again first when the file changed since the last look."""
        now = self.clock()
        if now - self._checked < self.every:
            return self.macros
        self._checked = now
        stamp = _stamp(self.path)
        if stamp != self._stamp:
            self._read(stamp)
        return self.macros

    def _read(self, stamp: Stamp) -> None:
        if stamp is None:
            self.macros, self._stamp = resource_macros(None), None
            return
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            log.error("resource file %s not read again, keeping its macros: %s", self.path, exc)
            return
        self.macros, self._stamp = resource_macros(text), stamp

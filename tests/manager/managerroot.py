"""Manager roots for tests (a module of its own: ``conftest`` is not a unique module name)."""

from __future__ import annotations

import contextlib
import random
from pathlib import Path

from lookout.errors import LookoutError
from lookout.manager.manager import Manager
from lookout.manager.root import Root, init_root


def make_root(path: Path, *, saas: bool = False) -> Root:
    # a random range below the ephemeral ports (32768-): outgoing connections and other
    # tests binding port 0 never take a stopped site's port; free_ports skips ports in use
    # no front door: its default ports are fixed (tests/manager/frontdoor.py has roots with one)
    return init_root(
        path,
        saas=saas,
        first_port=random.randrange(20000, 32000, 100),
        listen="",
        agent_listen="",
        site_users=False,  # tests/manager/test_siteusers.py makes Unix users (and cleans up)
    )


def stop_all(root: Root) -> None:
    m = Manager(root)
    for name in root.names():
        with contextlib.suppress(LookoutError):
            m.stop(name)

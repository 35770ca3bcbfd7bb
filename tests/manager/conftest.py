"""A manager root in a temporary directory; every site it started is stopped afterwards."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from lookout.errors import LookoutError
from lookout.manager.manager import Manager
from lookout.manager.root import Root, init_root


def make_root(path: Path, *, saas: bool = False) -> Root:
    # a random range below the ephemeral ports (32768-): outgoing connections and other
    # tests binding port 0 never take a stopped site's port; free_ports skips ports in use
    return init_root(path, saas=saas, first_port=random.randrange(20000, 32000, 100))


def stop_all(root: Root) -> None:
    m = Manager(root)
    for name in root.names():
        with contextlib.suppress(LookoutError):
            m.stop(name)


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Root]:
    r = make_root(tmp_path / "root")
    try:
        yield r
    finally:
        stop_all(r)


@pytest.fixture
def manager(root: Root) -> Manager:
    return Manager(root)

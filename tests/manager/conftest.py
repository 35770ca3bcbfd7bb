"""A manager root in a temporary directory; every site it started is stopped afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from managerroot import make_root, stop_all

from lookout.manager.manager import Manager
from lookout.manager.root import Root


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

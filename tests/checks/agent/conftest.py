"""Sections captured from the machine the tests were written on (``lookout-agent dump``,
5 s apart, with one local check script printing a good and a malformed line)."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from lookout_agent import wire as w

DATA = Path(__file__).parent / "data"


def load(name: str) -> w.Push:
    return msgspec.json.decode((DATA / name).read_bytes(), type=w.Push)


@pytest.fixture
def push1() -> w.Push:
    return load("push1.json")


@pytest.fixture
def push2() -> w.Push:
    return load("push2.json")

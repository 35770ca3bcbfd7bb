"""The test tree itself: pytest's default import mode needs every test module's file name to
be unique (two ``test_commands.py`` in different folders stop the whole run at collection)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path


def test_test_module_names_are_unique() -> None:
    names = Counter(p.name for p in Path(__file__).parent.rglob("test_*.py"))
    assert [n for n, count in names.items() if count > 1] == []

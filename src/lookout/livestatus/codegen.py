"""Small functions generated once per query, so that a row costs one Python call.

A comprehension or generator per row (``[g(r) for g in getters]``, ``all(p(r) for p in
preds)``) cost more than the column reads themselves on 100,000 rows. The generated source
holds only the names ``g0``, ``g1``, … bound to the given functions: no request text ever
reaches :func:`eval`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

Fn = Callable[[Any], Any]


def _compile(body: str, fns: Sequence[Fn]) -> Fn:
    names = {f"g{i}": f for i, f in enumerate(fns)}
    fn: Fn = eval("lambda r: " + body.format(*names), names)
    return fn


def reads_list(getters: Sequence[Fn]) -> Fn:
    """``lambda r: [g0(r), g1(r), …]``."""
    return _compile("[" + ", ".join("{}(r)" for _ in getters) + "]", getters)


def reads_tuple(getters: Sequence[Fn]) -> Fn:
    """``lambda r: (g0(r), g1(r), …,)``."""
    return _compile("(" + "".join("{}(r), " for _ in getters) + ")", getters)


def joined(preds: Sequence[Fn], word: str) -> Fn:
    """``lambda r: bool(g0(r)) and bool(g1(r)) …`` (``word``: ``and`` or ``or``)."""
    return _compile(f" {word} ".join("bool({}(r))" for _ in preds), preds)

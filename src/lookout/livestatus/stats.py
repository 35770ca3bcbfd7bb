"""``Stats:`` lines: counts of rows matching a condition, and sum/min/max/avg/std/suminv/
avginv of a column, per group of the ``Columns:`` values (one group without them).

Rows are first counted by the tuple of every column the stats and groups read; each stats
line is then evaluated once per distinct tuple, weighted by its count. A site has few distinct
(state, state_type, acknowledged, …) tuples, so the state counts of 100,000 services cost one
pass over them, not one per stats line.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter, itemgetter
from typing import Any

from lookout.livestatus.codegen import reads_tuple
from lookout.livestatus.columns import Column, Getter
from lookout.livestatus.errors import BAD_REQUEST, LqlError
from lookout.livestatus.filters import AllOf, AnyOf, Leaf, Node, Not, compile_node, parse_condition

AGGREGATES = ("sum", "min", "max", "avg", "std", "suminv", "avginv")


@dataclass(frozen=True, slots=True)
class Aggregate:
    function: str
    column: Column


StatsItem = Node | Aggregate


def parse_stats(header: str, value: str, columns: dict[str, Column], table: str) -> StatsItem:
    words = value.split()
    if len(words) == 2 and words[0] in AGGREGATES:
        column = columns.get(words[1])
        if column is None:
            raise LqlError(BAD_REQUEST, f"{header}: Table '{table}' has no column '{words[1]}'")
        if column.kind not in ("int", "float", "time"):
            raise LqlError(
                BAD_REQUEST, f"{header}: {words[0]} needs a numeric column, '{words[1]}' is not"
            )
        return Aggregate(words[0], column)
    return parse_condition(header, value, columns, table)


def combine_stats(stack: list[StatsItem], header: str, value: str, kind: str) -> None:
    if kind == "negate":
        if not stack or isinstance(stack[-1], Aggregate):
            raise LqlError(BAD_REQUEST, f"{header}: needs a counting Stats: line before it")
        stack.append(Not(stack.pop()))  # type: ignore[arg-type]
        return
    if not (value.isascii() and value.isdigit()):
        raise LqlError(BAD_REQUEST, f"{header}: expected a number of Stats lines, got {value!r}")
    n = int(value)
    if n > len(stack) or n == 0:
        raise LqlError(
            BAD_REQUEST, f"{header}: cannot combine {n} Stats lines, {len(stack)} given before"
        )
    parts = stack[len(stack) - n :]
    if any(isinstance(p, Aggregate) for p in parts):
        raise LqlError(BAD_REQUEST, f"{header}: cannot combine sum/min/max/avg lines")
    del stack[len(stack) - n :]
    nodes = tuple(p for p in parts if not isinstance(p, Aggregate))
    stack.append(AllOf(nodes) if kind == "and" else AnyOf(nodes))


def _columns_of(item: StatsItem, out: dict[str, Column]) -> None:
    if isinstance(item, Aggregate | Leaf):
        out.setdefault(item.column.name, item.column)
    elif isinstance(item, Not):
        _columns_of(item.part, out)
    else:
        for p in item.parts:
            _columns_of(p, out)


def _hashable(column: Column, get: Getter) -> Getter:
    if column.kind == "list":
        return lambda row: tuple(get(row))
    return get


def compute(
    rows: Iterable[Any],
    groups: Sequence[Column],
    items: Sequence[StatsItem],
    read: Callable[[Column], Getter],
    where: Node | None = None,
) -> list[list[Any]]:
    """One output row per group: the group's column values, then one value per stats item.
    ``where``: the query's filter, evaluated once per distinct key instead of once per row."""
    plan = Plan(groups, items, read, where)
    return plan.finish(Counter(map(plan.key, rows)))


class Plan:
    """A stats query in two steps, so that the caller may count rows in turns:
    ``Counter(map(plan.key, rows))`` (any number of times, added up), then ``finish``."""

    def __init__(
        self,
        groups: Sequence[Column],
        items: Sequence[StatsItem],
        read: Callable[[Column], Getter],
        where: Node | None = None,
    ) -> None:
        needed: dict[str, Column] = {c.name: c for c in groups}
        for item in [*items, *([where] if where is not None else [])]:
            _columns_of(item, needed)
        self.cols = list(needed.values())
        self.groups, self.items, self.where = list(groups), list(items), where
        self.key, self._logical = _key_function(self.cols, read)

    def finish(self, keyed: Counter[Any]) -> list[list[Any]]:
        counts = self._logical(keyed)
        at = {c.name: i for i, c in enumerate(self.cols)}
        position: Callable[[Column], Getter] = lambda c: itemgetter(at[c.name])  # noqa: E731
        if self.where is not None:
            keep = compile_node(self.where, position)
            counts = Counter({k: n for k, n in counts.items() if keep(k)})
        by_group: dict[tuple[Any, ...], list[tuple[Any, int]]] = defaultdict(list)
        group_keys = [position(c) for c in self.groups]
        for key, n in counts.items():
            by_group[tuple(g(key) for g in group_keys)].append((key, n))
        evaluators = [_evaluator(item, position) for item in self.items]
        if not self.groups:
            return [[ev(by_group.get((), [])) for ev in evaluators]]
        out = []
        for gkey in sorted(by_group, key=_sort_key):
            members = by_group[gkey]
            out.append(
                [*(list(v) if isinstance(v, tuple) else v for v in gkey)]
                + [ev(members) for ev in evaluators]
            )
        return out


def _key_function(
    cols: list[Column], read: Callable[[Column], Getter]
) -> tuple[Getter, Callable[[Counter[Any]], Counter[tuple[Any, ...]]]]:
    """The function that makes a row's counting key, and the one that turns counts by that
    key into counts by the tuple of the values of ``cols``. Columns that are attributes are
    read together by one C-level ``attrgetter`` and converted once per distinct key."""
    raw = [c for c in cols if c.raw is not None]
    other = [c for c in cols if c.raw is None]
    if not raw:
        return reads_tuple([_hashable(c, read(c)) for c in cols]), lambda keyed: keyed
    both = attrgetter(*(c.raw for c in raw if c.raw is not None))
    single = len(raw) == 1
    key = reads_tuple([both, *(_hashable(c, read(c)) for c in other)]) if other else both
    order = [*raw, *other]
    index = [order.index(c) for c in cols]

    def logical(keyed: Counter[Any]) -> Counter[tuple[Any, ...]]:
        counts: Counter[tuple[Any, ...]] = Counter()
        for k, n in keyed.items():
            raws, rest = (k[0], k[1:]) if other else (k, ())
            values = (raws,) if single else raws
            converted = [c.convert(v) if c.convert else v for c, v in zip(raw, values, strict=True)]
            flat = [*converted, *rest]
            counts[tuple(flat[i] for i in index)] += n
        return counts

    return key, logical


def _sort_key(key: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple(",".join(map(str, v)) if isinstance(v, tuple) else str(v) for v in key)


Evaluator = Callable[[list[tuple[Any, int]]], Any]


def _evaluator(item: StatsItem, position: Callable[[Column], Getter]) -> Evaluator:
    if isinstance(item, Aggregate):
        get = position(item.column)
        return lambda members: _aggregate(item.function, [(get(k), n) for k, n in members])
    pred = compile_node(item, position)
    return lambda members: sum(n for key, n in members if pred(key))


def _aggregate(function: str, values: list[tuple[Any, int]]) -> float | int:
    total_n = sum(n for _v, n in values)
    if not total_n:
        return 0
    if function == "min":
        return min(v for v, _n in values)  # type: ignore[no-any-return]
    if function == "max":
        return max(v for v, _n in values)  # type: ignore[no-any-return]
    total = sum(v * n for v, n in values)
    if function == "sum":
        return total  # type: ignore[no-any-return]
    if function == "avg":
        return float(total / total_n)
    if function == "std":
        mean = total / total_n
        square = sum(v * v * n for v, n in values) / total_n
        return math.sqrt(max(0.0, square - mean * mean))
    inverse = sum(n / v for v, n in values if v)
    return float(inverse if function == "suminv" else inverse / total_n)

"""Stats lines: counts, StatsAnd/Or/Negate, aggregates, grouping (no site needed)."""

from __future__ import annotations

from typing import Any

import pytest
from lsrows import COLUMNS, ROWS

from lookout.livestatus.columns import Column
from lookout.livestatus.errors import LqlError
from lookout.livestatus.stats import StatsItem, combine_stats, compute, parse_stats


def run(*lines: str, group: tuple[str, ...] = ()) -> list[list[Any]]:
    stack: list[StatsItem] = []
    for line in lines:
        header, _, value = line.partition(":")
        value = value.strip()
        if header == "Stats":
            stack.append(parse_stats(header, value, COLUMNS, "t"))
        else:
            combine_stats(stack, header, value, header[5:].lower())
    groups: list[Column] = [COLUMNS[g] for g in group]
    return compute(ROWS, groups, stack, lambda c: c.get)


def test_counts_and_combinations() -> None:
    assert run("Stats: state = 0", "Stats: state = 1", "Stats: state = 2", "Stats: state = 3") == [
        [1, 1, 1, 0]
    ]
    assert run("Stats: state > 0", "Stats: groups >= web", "StatsAnd: 2") == [[1]]
    assert run("Stats: state = 0", "Stats: state = 1", "StatsOr: 2", "StatsNegate:") == [[1]]


def test_aggregates() -> None:
    out = run("Stats: sum load", "Stats: min load", "Stats: max state", "Stats: avg load")
    assert out == [[5.0, 0.5, 2, pytest.approx(5.0 / 3)]]
    assert run("Stats: std state") == [[pytest.approx(0.8164965809)]]


def test_grouped_by_columns() -> None:
    assert run("Stats: state = 0", "Stats: sum load", group=("groups",)) == [
        [[], 0, 1.5],
        [["web"], 0, 3.0],
        [["web", "Prod"], 1, 0.5],
    ]


def test_empty_answer_is_zeros() -> None:
    assert compute([], [], [parse_stats("Stats", "avg load", COLUMNS, "t")], lambda c: c.get) == [
        [0]
    ]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (("Stats: sum name",), "sum needs a numeric column"),
        (("Stats: sum nope",), "no column 'nope'"),
        (("Stats: sum load", "Stats: state = 1", "StatsAnd: 2"), "cannot combine sum"),
        (("StatsOr: 1",), "cannot combine 1 Stats lines, 0 given"),
        (("StatsNegate:",), "needs a counting Stats: line"),
    ],
)
def test_errors(lines: tuple[str, ...], message: str) -> None:
    with pytest.raises(LqlError) as err:
        run(*lines)
    assert message in err.value.message

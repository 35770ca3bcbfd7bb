"""Filter conditions and their combination, on plain rows (no site needed)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from lsrows import COLUMNS, ROWS

from lookout.livestatus.columns import Column
from lookout.livestatus.errors import LqlError
from lookout.livestatus.filters import AllOf, Node, combine, compile_node, parse_condition


def get(column: Column) -> Any:
    return column.get


def names(*lines: str) -> list[str]:
    stack: list[Node] = []
    for line in lines:
        header, _, value = line.partition(":")
        value = value.strip()
        if header == "Filter":
            stack.append(parse_condition(header, value, COLUMNS, "t"))
        else:
            combine(stack, header, value, header.lower())
    pred = compile_node(AllOf(tuple(stack)), get)
    return [r["name"] for r in ROWS if pred(r)]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Filter: name = web01", ["web01"]),
        ("Filter: name != web01", ["Web02", "db01"]),
        ("Filter: name ~ ^[wW]eb", ["web01", "Web02"]),
        ("Filter: name !~ eb", ["db01"]),
        ("Filter: name =~ WEB02", ["Web02"]),
        ("Filter: name ~~ WEB", ["web01", "Web02"]),
        ("Filter: name !~~ WEB", ["db01"]),
        ("Filter: name < db02", ["Web02", "db01"]),
        ("Filter: state = 2", ["Web02"]),
        ("Filter: state != 0", ["Web02", "db01"]),
        ("Filter: state >= 1", ["Web02", "db01"]),
        ("Filter: state < 1", ["web01"]),
        ("Filter: state !> 1", ["web01", "db01"]),
        ("Filter: load > 1.2", ["Web02", "db01"]),
        ("Filter: load <= 1.5", ["web01", "db01"]),
        ("Filter: groups >= web", ["web01", "Web02"]),
        ("Filter: groups !>= web", ["db01"]),
        ("Filter: groups < web", ["db01"]),
        ("Filter: groups <= prod", ["web01"]),
        ("Filter: groups > prod", ["Web02", "db01"]),
        ("Filter: groups ~ ^w", ["web01", "Web02"]),
        ("Filter: groups ~~ ^P", ["web01"]),
        ("Filter: groups =", ["db01"]),
        ("Filter: groups !=", ["web01", "Web02"]),
        ("Filter: members >= db01|Disk /", ["db01"]),
    ],
)
def test_operators(line: str, expected: list[str]) -> None:
    assert names(line) == expected


def test_and_or_negate() -> None:
    assert names("Filter: state = 0", "Filter: state = 2", "Or: 2") == ["web01", "Web02"]
    assert names("Filter: state = 0", "Filter: state = 2", "Or: 2", "Negate:") == ["db01"]
    assert names(
        "Filter: groups >= web", "Filter: state > 0", "And: 2", "Filter: name = db01", "Or: 2"
    ) == ["Web02", "db01"]
    assert names("Filter: state = 0", "Filter: state = 2") == []  # implicit And
    assert names("And: 0") == ["web01", "Web02", "db01"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("Filter: nope = 1", "Table 't' has no column 'nope'"),
        ("Filter: state", "expected 'column operator value'"),
        ("Filter: state == 1", "invalid operator '=='"),
        ("Filter: state = x", "column 'state' expects a number, got 'x'"),
        ("Filter: state ~ 1", "operator '~' does not apply to numeric column 'state'"),
        ("Filter: name ~ (", "invalid regular expression for column 'name'"),
        ("Filter: name ~ (?=web)", "invalid perl operator: (?="),
        ("Filter: name ~ (w)\\1", "invalid escape sequence: \\1"),
        ("Filter: groups = web", "only tests for an empty list"),
        ("Or: 2", "cannot combine 2 filters, only 0 given"),
        ("Or: x", "expected a number of filters"),
        ("Negate:", "nothing to negate"),
    ],
)
def test_errors_name_what_is_wrong(line: str, message: str) -> None:
    with pytest.raises(LqlError) as err:
        names(line)
    assert err.value.code == 400
    assert message in err.value.message


def test_a_backtracking_pattern_takes_linear_time() -> None:
    """``(a+)+$`` against 40 a's and a '!' takes Python's ``re`` 2**40 steps (hours); a
    Livestatus query must not hold the site's event loop with it."""
    pred = compile_node(parse_condition("Filter", "name ~ (a+)+$", COLUMNS, "t"), get)
    started = time.perf_counter()
    assert not pred({**ROWS[0], "name": "a" * 40 + "!"})
    assert pred({**ROWS[0], "name": "a" * 40})
    assert time.perf_counter() - started < 1.0

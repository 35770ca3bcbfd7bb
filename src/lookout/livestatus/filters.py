"""Filter expressions: one ``column op value`` condition, and the stack ``And``/``Or``/
``Negate`` build on.

Operators (each may be negated with a leading ``!``): ``=`` equal, ``~`` regex search,
``=~`` equal ignoring case, ``~~`` regex ignoring case, ``<`` ``>`` ``<=`` ``>=``. On list
columns ``>=`` means "contains", ``<`` "does not contain", ``<=``/``=~`` "contains ignoring
case", ``>`` "does not contain ignoring case", ``~``/``~~`` "an element matches", and ``=``
with an empty value "is empty".

Regular expressions are RE2's (``google-re2``): matching takes time linear in the text, so a
query cannot hold the site's event loop with a pattern that backtracks for ever (``(a+)+$``
against a long plugin output did, with Python's ``re``). RE2 is also what Checkmk's Livestatus
uses; backreferences and look-arounds are refused with the reason. Plain patterns (letters,
anchors, dots) are searched with ``re``: they cannot backtrack, and ``re`` is faster on them.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import re2

from lookout.livestatus.codegen import joined
from lookout.livestatus.columns import Column, Getter
from lookout.livestatus.errors import BAD_REQUEST, LqlError

Pred = Callable[[Any], bool]
OPERATORS = ("=", "~", "=~", "~~", "<", ">", "<=", ">=")
MAX_REGEX = 1000
"""Longest regular expression accepted, in characters."""

_NUMBER_OPS = {
    "=": operator.eq,
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
}
_NEGATED = {
    "=": operator.ne,
    "<": operator.ge,
    ">": operator.le,
    "<=": operator.gt,
    ">=": operator.lt,
}


@dataclass(frozen=True, slots=True)
class Leaf:
    column: Column
    op: str
    ref: str


@dataclass(frozen=True, slots=True)
class AllOf:
    parts: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    parts: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    part: Node


Node = Leaf | AllOf | AnyOf | Not


def parse_condition(header: str, value: str, columns: dict[str, Column], table: str) -> Leaf:
    """``column op value`` of a Filter: or Stats: line."""
    name, _, rest = value.partition(" ")
    op, _, ref = rest.lstrip().partition(" ")
    if not name or not op:
        raise LqlError(BAD_REQUEST, f"{header}: expected 'column operator value', got {value!r}")
    column = columns.get(name)
    if column is None:
        raise LqlError(BAD_REQUEST, f"{header}: Table '{table}' has no column '{name}'")
    if op.removeprefix("!") not in OPERATORS:
        raise LqlError(
            BAD_REQUEST,
            f"{header}: invalid operator {op!r} for column '{name}', expected one of "
            + " ".join(OPERATORS)
            + " (each may start with !)",
        )
    return Leaf(column, op, ref.lstrip())


def combine(stack: list[Node], header: str, value: str, kind: str) -> None:
    """Apply ``And: n`` / ``Or: n`` / ``Negate:`` to ``stack`` in place."""
    if kind == "negate":
        if not stack:
            raise LqlError(BAD_REQUEST, f"{header}: nothing to negate")
        stack.append(Not(stack.pop()))
        return
    if not (value.isascii() and value.isdigit()):
        raise LqlError(BAD_REQUEST, f"{header}: expected a number of filters, got {value!r}")
    n = int(value)
    if n > len(stack):
        raise LqlError(
            BAD_REQUEST, f"{header}: cannot combine {n} filters, only {len(stack)} given before"
        )
    parts = tuple(stack[len(stack) - n :])
    del stack[len(stack) - n :]
    stack.append(AllOf(parts) if kind == "and" else AnyOf(parts))


def compile_node(node: Node, getter: Callable[[Column], Getter]) -> Pred:
    """A predicate for ``node``; ``getter`` gives the function that reads a column."""
    if isinstance(node, Leaf):
        return condition(node, getter(node.column))
    if isinstance(node, Not):
        inner = compile_node(node.part, getter)
        return lambda row: not inner(row)
    preds = [compile_node(p, getter) for p in node.parts]
    if not preds:
        return _always if isinstance(node, AllOf) else _never
    if len(preds) == 1:
        return preds[0]
    return joined(preds, "and" if isinstance(node, AllOf) else "or")


def _always(_row: Any) -> bool:
    return True


def _never(_row: Any) -> bool:
    return False


def condition(leaf: Leaf, get: Getter) -> Pred:
    negate = leaf.op.startswith("!")
    op = leaf.op.removeprefix("!")
    kind = leaf.column.kind
    where = f"column '{leaf.column.name}'"
    if kind == "list":
        pred = _list_condition(op, leaf.ref, get, where)
        return (lambda row: not pred(row)) if negate else pred
    if kind in ("int", "float", "time"):
        return _number_condition(op, negate, leaf.ref, get, kind, where)
    pred = _string_condition(op, leaf.ref, get, where)
    return (lambda row: not pred(row)) if negate else pred


def _number_condition(op: str, negate: bool, ref: str, get: Getter, kind: str, where: str) -> Pred:
    if op not in _NUMBER_OPS:
        raise LqlError(BAD_REQUEST, f"operator {op!r} does not apply to numeric {where}")
    try:
        number: float = int(ref) if kind != "float" else float(ref)
    except ValueError:
        try:
            number = float(ref)
        except ValueError:
            raise LqlError(BAD_REQUEST, f"{where} expects a number, got {ref!r}") from None
    fn = (_NEGATED if negate else _NUMBER_OPS)[op]
    return lambda row: fn(get(row), number)


REGEX_MEMORY = 8 << 20
"""Bytes RE2 may use for one compiled expression (its default; bigger ones are refused)."""
_PLAIN_REGEX = re.compile(r"[^\\\[\](){}*+?|]*").fullmatch
"""Letters, ``^``, ``$`` and ``.`` only: nothing to backtrack over, and the same meaning in
both dialects, so Python's ``re`` searches it (5× faster per row than RE2's wrapper)."""


def regex(ref: str, where: str, *, ignore_case: bool) -> Callable[[str], bool]:
    """Whether a text matches ``ref`` (a search, as Livestatus's ``~``), or a 400 saying what is
    wrong with it."""
    if len(ref) > MAX_REGEX:
        raise LqlError(BAD_REQUEST, f"regular expression for {where} longer than {MAX_REGEX}")
    options = re2.Options()
    options.case_sensitive = not ignore_case
    options.log_errors = False  # the reason goes back to the client, not to stderr
    options.never_capture = True
    options.max_mem = REGEX_MEMORY
    try:
        search = re2.compile(ref, options).search
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise LqlError(BAD_REQUEST, f"invalid regular expression for {where}: {reason}") from None
    if _PLAIN_REGEX(ref):
        search = re.compile(ref, re.IGNORECASE if ignore_case else 0).search
    return lambda text: search(text) is not None


def _string_condition(op: str, ref: str, get: Getter, where: str) -> Pred:
    if op in ("~", "~~"):
        matches = regex(ref, where, ignore_case=op == "~~")
        return lambda row: matches(get(row))
    if op == "=~":
        folded = ref.casefold()
        return lambda row: get(row).casefold() == folded
    fn = _NUMBER_OPS[op]
    return lambda row: fn(get(row), ref)


def element_text(element: Any) -> str:
    """A list element as a filter compares it: a tuple (host, service) as ``host|service``."""
    if isinstance(element, tuple | list):
        return "|".join(str(e) for e in element)
    return str(element)


def _list_condition(op: str, ref: str, get: Getter, where: str) -> Pred:
    if op == "=":
        if ref:
            raise LqlError(
                BAD_REQUEST,
                f"'=' on list {where} only tests for an empty list (empty value); "
                "use '>=' for 'contains'",
            )
        return lambda row: not get(row)
    if op == ">=":
        return lambda row: _contains(get(row), ref)
    if op == "<":
        return lambda row: not _contains(get(row), ref)
    if op in ("<=", "=~", ">"):
        folded = ref.casefold()
        hit: Pred = lambda row: any(  # noqa: E731
            element_text(e).casefold() == folded for e in get(row)
        )
        return (lambda row: not hit(row)) if op == ">" else hit
    matches = regex(ref, where, ignore_case=op == "~~")
    return lambda row: any(matches(element_text(e)) for e in get(row))


def _contains(values: Sequence[Any], ref: str) -> bool:
    return any(element_text(v) == ref for v in values)

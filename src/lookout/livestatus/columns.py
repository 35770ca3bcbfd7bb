"""A table's columns: a name, a Livestatus type and a getter from a row to its value."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Literal

Kind = Literal["int", "float", "time", "string", "list"]
"""``time`` is an int (Unix seconds) that ``Localtime:`` shifts; ``list`` holds strings,
numbers or tuples (a host/service pair, a service with its state)."""

Getter = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: Kind
    get: Getter
    description: str = ""
    raw: str | None = None
    """The attribute (dotted path) the value comes from, when it is one: read in C by
    ``attrgetter`` for filters and stats keys, then turned into the value by ``convert``."""
    convert: Callable[[Any], Any] | None = None
    """Raw attribute → value (None: the same; ``int``: a bool, which compares as its int)."""

    @property
    def compares_raw(self) -> bool:
        """Whether comparisons may read the raw attribute (it compares like the value)."""
        return self.raw is not None and self.convert in (None, int)

    @property
    def type_name(self) -> str:
        """The type the ``columns`` table shows (Nagios has no ``time`` there)."""
        return {"time": "time", "float": "float", "int": "int"}.get(self.kind, self.kind)


def col(name: str, kind: Kind, get: Getter, description: str = "") -> Column:
    return Column(name, kind, get, description)


def attr(name: str, kind: Kind, raw: str, convert: Callable[[Any], Any] | None = None) -> Column:
    """A column read from attribute ``raw`` of the row (``convert``: how it becomes the value)."""
    read = attrgetter(raw)
    if convert is None:
        return Column(name, kind, read, raw=raw)
    fn = convert
    return Column(name, kind, lambda row: fn(read(row)), raw=raw, convert=convert)


def const(name: str, kind: Kind, value: Any, description: str = "") -> Column:
    """A column Lookout has no concept for: always the documented default."""

    def get(_row: Any) -> Any:
        return value

    return Column(name, kind, get, description or "not in Lookout: default")


def prefixed(
    prefix: str, columns: Iterable[Column], to: Getter, to_attr: str | None = None
) -> list[Column]:
    """``columns`` again as ``prefix + name``, read from ``to(row)`` (a service's ``host_*``
    columns; a comment's ``service_*`` ones). ``to`` may answer None: the zero value then.
    ``to_attr``: the attribute ``to`` reads, never None (a service's ``host_status``), which
    lets raw columns stay raw (``host_status.state``)."""
    out = []
    for c in columns:
        if to_attr is not None and c.raw is not None:
            out.append(_raw_prefixed(prefix, c, to_attr))
            continue
        zero = _ZERO[c.kind]

        def get(row: Any, g: Getter = c.get, z: Any = zero) -> Any:
            other = to(row)
            return z if other is None else g(other)

        out.append(Column(prefix + c.name, c.kind, get, c.description))
    return out


def _raw_prefixed(prefix: str, c: Column, to_attr: str) -> Column:
    made = attr(prefix + c.name, c.kind, f"{to_attr}.{c.raw}", c.convert)
    return Column(made.name, made.kind, made.get, c.description, made.raw, made.convert)


_ZERO: dict[str, Any] = {"int": 0, "float": 0.0, "time": 0, "string": "", "list": ()}


def index(columns: Iterable[Column]) -> dict[str, Column]:
    """By name; a later column of the same name wins (a table's own over a prefixed one)."""
    return {c.name: c for c in columns}

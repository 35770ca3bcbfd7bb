"""A table's columns: a name, a Livestatus type and a getter from a row to its value."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
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

    @property
    def type_name(self) -> str:
        """The type the ``columns`` table shows (Nagios has no ``time`` there)."""
        return {"time": "time", "float": "float", "int": "int"}.get(self.kind, self.kind)


def col(name: str, kind: Kind, get: Getter, description: str = "") -> Column:
    return Column(name, kind, get, description)


def const(name: str, kind: Kind, value: Any, description: str = "") -> Column:
    """A column Lookout has no concept for: always the documented default."""

    def get(_row: Any) -> Any:
        return value

    return Column(name, kind, get, description or "not in Lookout: default")


def prefixed(prefix: str, columns: Iterable[Column], to: Getter) -> list[Column]:
    """``columns`` again as ``prefix + name``, read from ``to(row)`` (a service's ``host_*``
    columns; a comment's ``service_*`` ones). ``to`` may answer None: the zero value then."""
    out = []
    for c in columns:
        zero = _ZERO[c.kind]

        def get(row: Any, g: Getter = c.get, z: Any = zero) -> Any:
            other = to(row)
            return z if other is None else g(other)

        out.append(Column(prefix + c.name, c.kind, get, c.description))
    return out


_ZERO: dict[str, Any] = {"int": 0, "float": 0.0, "time": 0, "string": "", "list": ()}


def index(columns: Iterable[Column]) -> dict[str, Column]:
    """By name; a later column of the same name wins (a table's own over a prefixed one)."""
    return {c.name: c for c in columns}

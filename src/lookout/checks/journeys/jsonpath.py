"""A small JSON path: ``$`` (the document), ``.name``, ``['name']`` or ``["name"]``, ``[3]``
and ``[-1]``. Enough to point at one value; no filters or wildcards."""

from __future__ import annotations

import re
from typing import Any

Path = tuple[str | int, ...]
_PART = re.compile(
    r"""\.(?P<name>[^.\[\]]+)|\[(?P<index>-?\d+)\]|\[(?P<q>['"])(?P<key>(?:(?!(?P=q)).)*)(?P=q)\]""",
    re.S,
)
_MISSING = object()


class PathError(ValueError):
    """A path that does not parse."""


def parse_path(text: str) -> Path:
    """``$.data.items[0]['id']`` → ``("data", "items", 0, "id")``; the ``$`` may be left out."""
    rest = text.strip()
    if rest.startswith("$"):
        rest = rest[1:]
    elif rest and rest[0] not in ".[":
        rest = "." + rest
    parts: list[str | int] = []
    pos = 0
    while pos < len(rest):
        m = _PART.match(rest, pos)
        if m is None:
            raise PathError(
                f"JSON path {text!r}: cannot read {rest[pos:]!r} (use $.name, ['name'], [0])"
            )
        if m.group("name") is not None:
            parts.append(m.group("name"))
        elif m.group("index") is not None:
            parts.append(int(m.group("index")))
        else:
            parts.append(m.group("key"))
        pos = m.end()
    return tuple(parts)


def lookup(document: Any, path: Path) -> Any:
    """The value at ``path``, or :data:`MISSING`."""
    value = document
    for part in path:
        if isinstance(part, int) and isinstance(value, list):
            if not -len(value) <= part < len(value):
                return MISSING
            value = value[part]
        elif isinstance(part, str) and isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return MISSING
    return value


MISSING: Any = _MISSING

"""Read a journey file: YAML → :class:`Journey`, every problem named by file, line, step and
field (``shop.yaml:14: step 2 'log in' → request.url: Field required``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pydantic
import yaml

from lookout.checks.journeys.model import Journey

Loc = tuple[str | int, ...]


class JourneyFileError(ValueError):
    """A journey file that cannot be read or is not a valid journey; ``problems`` lists each
    one as a line of its own."""

    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__(f"{source}: not a valid journey:\n  " + "\n  ".join(problems))
        self.source = source
        self.problems = problems


def load_file(path: Path) -> Journey:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise JourneyFileError(str(path), [f"cannot read it: {exc}"]) from exc
    return load_text(text, str(path))


def load_text(text: str, source: str = "<journey>") -> Journey:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise JourneyFileError(source, [f"{source}: the file is empty"])
        lines: dict[Loc, int] = {}
        data = _build(loader, node, (), lines)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        what = getattr(exc, "problem", None) or str(exc)
        raise JourneyFileError(source, [f"{where}: YAML does not parse: {what}"]) from exc
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise JourneyFileError(source, [f"{source}:1: expected a mapping with name and steps"])
    try:
        return Journey.model_validate(data)
    except pydantic.ValidationError as exc:
        problems = [_problem(source, data, lines, e) for e in exc.errors()]
        raise JourneyFileError(source, problems) from exc


def _build(loader: yaml.SafeLoader, node: yaml.Node, loc: Loc, lines: dict[Loc, int]) -> Any:
    """The Python value of ``node`` (as the safe loader makes it), recording the line of every
    mapping key and list item."""
    lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            lines[(*loc, str(key))] = key_node.start_mark.line + 1
            out[key] = _build(loader, value_node, (*loc, str(key)), lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, (*loc, i), lines) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def _problem(source: str, data: Any, lines: dict[Loc, int], error: Any) -> str:
    loc: Loc = tuple(p for p in error["loc"] if not _is_union_tag(p))
    line = _nearest_line(loc, lines)
    where = f"{source}:{line}" if line else source
    what = _describe(loc, data)
    msg = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {what}: {msg}" if what else f"{where}: {msg}"


def _is_union_tag(part: str | int) -> bool:
    """pydantic names the union member it tried (``float``, ``Levels``, ``list[int]``)."""
    return isinstance(part, str) and (
        part in ("float", "int", "str", "Levels", "constrained-float")
        or "[" in part
        or part.startswith(("function-", "json-or-python"))
    )


def _nearest_line(loc: Loc, lines: dict[Loc, int]) -> int | None:
    for end in range(len(loc), -1, -1):
        key = tuple(str(p) if isinstance(p, str) else p for p in loc[:end])
        if key in lines:
            return lines[key]
    return None


def _describe(loc: Loc, data: Any) -> str:
    """``("steps", 1, "request", "url")`` → ``step 2 'log in' → request.url``."""
    if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
        step = f"step {loc[1] + 1}"
        steps = data.get("steps") if isinstance(data, dict) else None
        if isinstance(steps, list) and loc[1] < len(steps) and isinstance(steps[loc[1]], dict):
            name = steps[loc[1]].get("name")
            if isinstance(name, str):
                step += f" {name!r}"
        rest = _dotted(loc[2:])
        return f"{step} → {rest}" if rest else step
    return _dotted(loc)


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f" #{part + 1}"
        else:
            out += f".{part}" if out and not out.endswith(" ") else str(part)
    return out

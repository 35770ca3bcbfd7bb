"""HTML forms for pydantic models: which inputs a model's fields need, what a submitted form
means as the model's input, and which field a validation error belongs to.

The model stays the one validation: a form only turns strings into the shapes the model reads
(lines into lists, ``key=value`` lines into a dict, ``2h30m`` into seconds) and hands the rest
to ``model_validate``, so the UI refuses exactly what the REST API refuses. Fields a form does
not show (nested models such as Zulip's ``controls``) keep their stored value on an edit.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import time as dtime
from enum import Enum
from typing import Any, Literal, Union, get_args, get_origin

import pydantic

from lookout.domain.durations import format_duration, parse_duration
from lookout.domain.values import InvalidValue

Kind = Literal[
    "text", "secret", "number", "bool", "choice", "choices", "lines", "pairs", "duration"
]
Form = Mapping[str, list[str]]


@dataclass(frozen=True, slots=True)
class FormField:
    """One input: ``name`` is the model's key (dotted for a nested model's field)."""

    name: str
    label: str
    kind: Kind
    help: str = ""
    choices: tuple[str, ...] = ()
    required: bool = False
    optional: bool = False
    """An empty input means None (``until_number``), not the model's default."""
    advanced: bool = False


class FormErrors(Exception):
    """A refused form: messages per field name (``""`` for the form as a whole)."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k or 'form'}: {', '.join(v)}" for k, v in errors.items()))
        self.errors = errors


# ---------------------------------------------------------------------- fields of a model
def fields_of(
    model: type[pydantic.BaseModel],
    *,
    prefix: str = "",
    skip: Iterable[str] = (),
    kinds: Mapping[str, Kind] | None = None,
    choices: Mapping[str, Iterable[str]] | None = None,
    advanced: Iterable[str] = (),
    secrets: Iterable[str] = (),
) -> list[FormField]:
    """The inputs for ``model``'s fields, in the model's order; a field whose type has no
    input (a nested model) is left out. ``kinds`` and ``choices`` override what the type says
    (``duration`` for seconds, the channels there are for a rule's ``channels``)."""
    kinds, choices = dict(kinds or {}), {k: tuple(v) for k, v in (choices or {}).items()}
    out = []
    for name, info in model.model_fields.items():
        if name in skip:
            continue
        kind, allowed, optional = _kind_of(info.annotation)
        kind = "secret" if name in secrets else kinds.get(name, kind)
        if kind is None:
            continue
        out.append(
            FormField(
                name=prefix + name,
                label=_label(name),
                kind=kind,
                help=_help(info.description or "", kind),
                choices=tuple(choices.get(name, allowed)),
                required=info.is_required(),
                optional=optional,
                advanced=name in advanced,
            )
        )
    return out


_WORDS = {"url": "URL", "urls": "URLs", "api": "API", "ca": "CA", "smtp": "SMTP"}


def _label(name: str) -> str:
    """``api_key`` → ``API key``."""
    words = [_WORDS.get(w, w) for w in name.split("_")]
    return " ".join([words[0][:1].upper() + words[0][1:], *words[1:]])


def _help(doc: str, kind: Kind) -> str:
    """A field's docstring as help under its input: no RST quotes; a duration's "Seconds"
    is typed as ``2h30m`` here."""
    doc = doc.replace("``", "")
    if kind == "duration" and doc.startswith("Seconds"):
        return "Time" + doc.removeprefix("Seconds")
    return doc


def _kind_of(annotation: Any) -> tuple[Kind | None, tuple[str, ...], bool]:
    """(input kind, choices, None allowed) for a field's type."""
    args = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) in (Union, types.UnionType) and len(args) == 1:
        kind, allowed, _ = _kind_of(args[0])
        return kind, allowed, True
    if hasattr(annotation, "__metadata__"):  # Annotated[str, Field(...)]
        return _kind_of(args[0])
    base = get_origin(annotation) or annotation
    if base is Literal:
        return "choice", tuple(str(a) for a in get_args(annotation)), False
    if base is list:
        item = get_args(annotation)[0]
        allowed = _choices(item)
        return ("choices" if allowed else "lines"), allowed, False
    if base is dict:
        return "pairs", (), False
    if annotation is bool:
        return "bool", (), False
    if annotation in (int, float):
        return "number", (), False
    if annotation in (str, dtime):
        return "text", (), False
    return None, (), False


def _choices(item: Any) -> tuple[str, ...]:
    if get_origin(item) is Literal:
        return tuple(str(a) for a in get_args(item))
    if isinstance(item, type) and issubclass(item, Enum):
        return tuple(str(m.value) for m in item)
    return ()


# ---------------------------------------------------------------------- stored value → form
def shown(fields: Iterable[FormField], value: Mapping[str, Any]) -> dict[str, Any]:
    """What each input shows for a stored value (a ``model_dump(mode="json")``): a string,
    or a list of the chosen values for ``choices``. Secrets are never shown."""
    out: dict[str, Any] = {}
    for f in fields:
        v = _lookup(value, f.name)
        if f.kind == "secret" or v is None:
            out[f.name] = [] if f.kind == "choices" else ""
        elif f.kind == "choices":
            out[f.name] = [str(x) for x in v]
        elif f.kind == "lines":
            out[f.name] = "\n".join(str(x) for x in v)
        elif f.kind == "pairs":
            out[f.name] = "\n".join(f"{k}={x}" for k, x in v.items())
        elif f.kind == "duration":
            out[f.name] = format_duration(v) if v else ""
        elif f.kind == "bool":
            out[f.name] = "on" if v else ""
        elif f.kind == "number":
            out[f.name] = f"{v:g}" if isinstance(v, float) else str(v)
        else:
            text = v.isoformat() if isinstance(v, dtime) else str(v)
            out[f.name] = text[:5] if _is_clock(text) else text
    return out


def _is_clock(v: str) -> bool:
    """``08:00:00`` (a stored time of day on the minute) is shown as ``08:00``."""
    return len(v) == 8 and v[2] == v[5] == ":" and v.endswith(":00")


def _lookup(value: Mapping[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)  # type: ignore[assignment]
    return value


def defaults(model: type[pydantic.BaseModel]) -> dict[str, Any]:
    """A model's default values (as :func:`shown` reads them) for a new form."""
    return {
        name: info.get_default(call_default_factory=True)
        for name, info in model.model_fields.items()
        if not info.is_required()
    }


def typed(fields: Iterable[FormField], data: Form) -> dict[str, Any]:
    """What the user typed, to show again in a refused form (secrets left out)."""
    return {
        f.name: list(data.get(f.name, []))
        if f.kind == "choices"
        else ("" if f.kind == "secret" else _first(data, f.name))
        for f in fields
    }


# ---------------------------------------------------------------------- form → model input
def read(fields: Iterable[FormField], data: Form) -> dict[str, Any]:
    """The model's input from a submitted form (dotted names nested); inputs that cannot be
    read (a malformed ``key=value`` line or duration) raise :class:`FormErrors`."""
    out: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for f in fields:
        try:
            value = _read_one(f, data)
        except InvalidValue as exc:
            errors.setdefault(f.name, []).append(str(exc))
            continue
        if value is not _DEFAULT:
            _put(out, f.name, value)
    if errors:
        raise FormErrors(errors)
    return out


_DEFAULT = object()
"""An empty input that leaves the model's default (a required field then says so)."""


def _read_one(f: FormField, data: Form) -> Any:
    raw = _first(data, f.name)
    if f.kind == "choices":
        return [v for v in data.get(f.name, []) if v]
    if f.kind == "bool":
        return raw == "on"
    if f.kind == "lines":
        return [line.strip() for line in raw.splitlines() if line.strip()]
    if f.kind == "pairs":
        return _pairs(raw)
    if f.kind == "duration":
        return parse_duration(raw) if raw.strip("0") else 0.0  # "" and "0": none
    if not raw:  # an empty text, number or choice: None where allowed, else the default
        return None if f.optional else _DEFAULT
    return raw


def _pairs(text: str) -> dict[str, str]:
    out = {}
    for line in (line.strip() for line in text.splitlines()):
        key, sep, value = line.partition("=")
        if line and (not sep or not key.strip()):
            raise InvalidValue(f"{line!r} is not key=value")
        if line:
            out[key.strip()] = value.strip()
    return out


def _put(out: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        out = out.setdefault(part, {})
    out[last] = value


def _first(data: Form, key: str) -> str:
    values = data.get(key)
    return values[0].strip() if values else ""


# ---------------------------------------------------------------------- errors → fields
def _at_most(seconds: float) -> str:
    days = f" ({seconds / 86400:g} days)" if seconds >= 86400 else ""
    return f"at most {format_duration(seconds)}{days}"


def field_errors(
    exc: pydantic.ValidationError,
    fields: Iterable[FormField],
    path: Callable[[tuple[Any, ...]], tuple[Any, ...]] = lambda loc: loc,
) -> dict[str, list[str]]:
    """The model's errors by form field: the longest dotted prefix of an error's path (as
    ``path`` maps it) that names a field (``time_period.timezone``; ``channels`` for
    ``channels.1``), ``""`` when none does. A duration over its limit says the limit as a
    duration."""
    by_name = {f.name: f for f in fields}
    out: dict[str, list[str]] = {}
    for err in exc.errors():
        loc = [str(p) for p in path(tuple(err["loc"]))]
        name = next(
            (".".join(loc[:n]) for n in range(len(loc), 0, -1) if ".".join(loc[:n]) in by_name),
            "",
        )
        msg = err["msg"].removeprefix("Value error, ")
        field = by_name.get(name)
        if field and field.kind == "duration" and err["type"] == "less_than_equal":
            msg = _at_most(float(err["ctx"]["le"]))
        elif not field and loc:
            msg = f"{'.'.join(loc)}: {msg}"
        out.setdefault(name, []).append(msg)
    return out

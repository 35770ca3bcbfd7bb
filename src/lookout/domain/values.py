"""What a valid value is, for every field that crosses a door into a site.

Every door (REST API bodies and queries, UI forms, chat commands, agent pushes, Kubernetes
objects, config files, the journal at replay) checks its values with these rules before the
engine sees them, so that nothing the engine accepts can later fail to be stored, loaded or
shown: numbers are finite, times lie in 1970–9999, text holds no NUL and no unpaired surrogate
(neither can be stored in PostgreSQL, nor encoded as UTF-8), nesting and sizes are bounded.

The checks raise :class:`InvalidValue` with the path of the offending part (``loc``), so each
door can report it in its own shape (422 field paths, a chat reply, an UNKNOWN service).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lookout.domain.metrics import Metric

Loc = tuple[str | int, ...]

TIME_MIN = 0.0
"""The earliest time accepted: 1970-01-01T00:00:00Z (Unix seconds)."""
TIME_MAX = 253_402_300_799.0
"""The latest time accepted: 9999-12-31T23:59:59Z, the last second ``datetime`` can show."""
DURATION_MAX = 100 * 366 * 86400.0
"""The longest duration accepted (downtimes, expiry offsets): 100 years, in seconds."""
NUMBER_MAX = 1e300
"""The largest magnitude of a metric value or threshold: sums of many stay finite."""
MAX_DEPTH = 32
"""The deepest nesting of JSON objects and arrays in one body (check definitions, params)."""
MAX_METRICS = 500
"""Metrics one check result may carry (perfdata and ``metrics`` together)."""
MAX_LABELS = 64
"""Labels one host or service may carry."""
MAX_LABEL_VALUE = 255
"""Characters of a label value."""
MAX_NAME = 255
"""Characters of a host, service, user or group name."""
MAX_SUMMARY = 4096
"""Characters of a result's summary (first line of plugin output)."""
MAX_LONG_OUTPUT = 65536
"""Characters of a result's long output."""
MAX_COMMENT = 4096
"""Characters of a comment (acknowledgements, downtimes, comments)."""
MAX_SERVICES_PER_PUSH = 1000
"""New services one agent push may create (a runaway local check cannot flood the site)."""
RESERVED_NAMES = frozenset({".", ".."})
"""Names that URLs cannot carry as a path segment (clients normalise them away)."""


class InvalidValue(ValueError):
    """A value a door refuses; ``loc`` is its path inside the input (may be empty)."""

    def __init__(self, msg: str, loc: Loc = ()) -> None:
        super().__init__(msg)
        self.msg = msg
        self.loc = loc


# ---------------------------------------------------------------------- text
def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored, or None. Cheap for the common ASCII case."""
    if "\x00" in text:
        return "contains a NUL character (\\u0000), which cannot be stored"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "contains an unpaired surrogate (not valid Unicode), which cannot be stored"
    return None


def check_text(text: str, max_length: int | None = None, loc: Loc = ()) -> str:
    problem = text_problem(text)
    if problem is not None:
        raise InvalidValue(problem, loc)
    if max_length is not None and len(text) > max_length:
        raise InvalidValue(f"longer than {max_length} characters ({len(text)})", loc)
    return text


def name_problem(name: str, *, host: bool) -> str | None:
    """Why ``name`` cannot name a host (``host=True``) or service, or None."""
    what = "host" if host else "service"
    if not 1 <= len(name) <= MAX_NAME:
        return f"a {what} name has 1 to {MAX_NAME} characters"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        return f"a {what} name may not contain control characters"
    if host and "/" in name:
        return "a host name may not contain '/'"
    if name in RESERVED_NAMES:
        return f"{name!r} cannot be a {what} name (URLs cannot address it)"
    if name != name.strip():
        return f"a {what} name may not start or end with white space"
    if host and name.startswith("-"):
        return "a host name may not start with '-' (the CLI would read it as an option)"
    return text_problem(name)


def check_name(name: str, *, host: bool, loc: Loc = ()) -> str:
    problem = name_problem(name, host=host)
    if problem is not None:
        raise InvalidValue(problem, loc)
    return name


# ---------------------------------------------------------------------- numbers and times
def check_number(value: float, loc: Loc = (), limit: float = NUMBER_MAX) -> float:
    """A finite number of magnitude ≤ ``limit``."""
    if not math.isfinite(value):
        raise InvalidValue(f"{value} is not a finite number", loc)
    if abs(value) > limit:
        raise InvalidValue(f"{value:g} is out of range (magnitude at most {limit:g})", loc)
    return value


def check_time(value: float, loc: Loc = ()) -> float:
    """Unix seconds within 1970-01-01 … 9999-12-31 (UTC)."""
    if not TIME_MIN <= value <= TIME_MAX:  # also false for NaN
        raise InvalidValue(
            f"{value} is not a time between 1970-01-01 and 9999-12-31 (Unix seconds "
            f"{TIME_MIN:.0f} to {TIME_MAX:.0f})",
            loc,
        )
    return value


def check_duration(value: float, loc: Loc = (), *, allow_zero: bool = False) -> float:
    """Seconds: positive (or zero when allowed) and at most :data:`DURATION_MAX`."""
    low_ok = value >= 0 if allow_zero else value > 0
    if not (low_ok and value <= DURATION_MAX):  # also false for NaN
        raise InvalidValue(
            f"{value} is not a duration between {'0' if allow_zero else 'a positive number of'}"
            f" seconds and 100 years",
            loc,
        )
    return value


def is_time(value: object) -> bool:
    """Whether ``value`` is a number that :func:`check_time` accepts."""
    return isinstance(value, int | float) and TIME_MIN <= value <= TIME_MAX


# ---------------------------------------------------------------------- nested JSON
def check_tree(value: Any, loc: Loc = (), *, max_depth: int = MAX_DEPTH) -> None:
    """Every part of a JSON-like value is storable: strings and keys without NUL or unpaired
    surrogates, finite numbers, nesting at most ``max_depth`` deep."""
    _walk(value, loc, max_depth, max_depth)


def _walk(value: Any, loc: Loc, depth: int, limit: int) -> None:
    if isinstance(value, str):
        problem = text_problem(value)
        if problem is not None:
            raise InvalidValue(problem, loc)
    elif isinstance(value, float):
        check_number(value, loc)
    elif isinstance(value, bool | int) or value is None:
        return
    elif isinstance(value, dict):
        if depth <= 0:
            raise InvalidValue(f"nested more than {limit} levels deep", loc)
        for key, item in value.items():
            if isinstance(key, str):
                problem = text_problem(key)
                if problem is not None:
                    raise InvalidValue(f"key {problem}", (*loc, key))
            _walk(item, (*loc, key), depth - 1, limit)
    elif isinstance(value, list | tuple):
        if depth <= 0:
            raise InvalidValue(f"nested more than {limit} levels deep", loc)
        for i, item in enumerate(value):
            _walk(item, (*loc, i), depth - 1, limit)


def check_count(n: int, limit: int, what: str, loc: Loc = ()) -> None:
    """At most ``limit`` of ``what``."""
    if n > limit:
        raise InvalidValue(f"{n} {what}; at most {limit} are allowed", loc)


def decoded_metrics_ok(metrics: tuple[Metric, ...]) -> bool:
    """Whether metrics *decoded by msgspec* pass :func:`check_metrics`: their numbers were
    checked by the decoder (``domain.metrics.Number``), so only count and text remain. The
    fast test of the ingestion hot path; ``check_metrics`` then says what is wrong."""
    if len(metrics) > MAX_METRICS:
        return False
    for m in metrics:
        name, unit = m.name, m.unit
        if "\x00" in name or "\x00" in unit:
            return False
    return True


def check_metrics(metrics: tuple[Metric, ...], loc: Loc = ()) -> None:
    """At most :data:`MAX_METRICS`, each with a storable name and unit and finite numbers."""
    check_count(len(metrics), MAX_METRICS, "metrics in one result", loc)
    isfinite = math.isfinite
    for i, m in enumerate(metrics):
        # the common case without building a location per field (ingestion's hot path); the
        # checks below name the field when something is wrong
        name, unit = m.name, m.unit
        if (
            len(name) <= MAX_NAME
            and len(unit) <= MAX_NAME
            and name.isascii()
            and unit.isascii()
            and "\x00" not in name
            and "\x00" not in unit
            and all(
                n is None or (isfinite(n) and -NUMBER_MAX <= n <= NUMBER_MAX)
                for n in (m.value, m.warn, m.crit, m.min, m.max)
            )
        ):
            continue
        check_text(name, MAX_NAME, (*loc, i, "name"))
        check_text(unit, MAX_NAME, (*loc, i, "unit"))
        for field in ("value", "warn", "crit", "min", "max"):
            number = getattr(m, field)
            if number is not None:
                check_number(number, (*loc, i, field))

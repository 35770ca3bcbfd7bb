"""Durations as people write them: one grammar for the CLI, the API, the web UI and chat.

A duration is one or more whole numbers, each with a unit, largest unit first::

    90s   15m   2h30m   1d   1w   1w2d   2h 30m

Units: ``w`` (7 days), ``d``, ``h``, ``m``, ``s``; upper case and spaces between the parts are
fine. Where plain numbers are allowed (``plain_seconds=True``, e.g. a check interval), ``90``
means 90 seconds. The value is more than zero and at most
:data:`lookout.domain.values.DURATION_MAX` (100 years). :func:`format_duration` writes the
largest units first, in a form that :func:`parse_duration` reads back to the same seconds.
"""

from __future__ import annotations

import re

from lookout.domain.values import DURATION_MAX, InvalidValue, Loc, check_duration

UNITS: dict[str, int] = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
"""Seconds per unit, largest first."""
EXAMPLES = "90s, 15m, 2h30m, 1d, 1w"
"""What an error message shows as the right form."""
MAX_TEXT = 64
"""Characters of a duration (a longer text is refused before it is matched)."""

_PART = r"(?:(\d{1,12})\s*{unit}\s*)?"
_GRAMMAR = re.compile(
    r"^\s*" + "".join(_PART.replace("{unit}", unit) for unit in UNITS) + r"$",
    re.IGNORECASE | re.ASCII,
)


def parse_duration(text: str, *, plain_seconds: bool = False, loc: Loc = ()) -> float:
    """``"2h30m"`` → ``9000.0`` seconds; :class:`InvalidValue` (a ``ValueError``) saying what
    is wrong and showing examples otherwise."""
    if len(text) > MAX_TEXT:
        raise InvalidValue(f"{text[:20]!r}… is not a duration (too long; like {EXAMPLES})", loc)
    stripped = text.strip()
    if plain_seconds and stripped.isascii() and stripped.isdigit():
        seconds = int(stripped)
    else:
        seconds = _grammar_seconds(text, plain_seconds, loc)
    if seconds == 0:
        raise InvalidValue(f"{text!r} is not a duration: it must be more than zero", loc)
    if seconds > DURATION_MAX:
        raise InvalidValue(
            f"{text!r} is too long: a duration lasts at most 100 years "
            f"({format_duration(DURATION_MAX)})",
            loc,
        )
    return check_duration(float(seconds), loc)


def _grammar_seconds(text: str, plain_seconds: bool, loc: Loc) -> int:
    m = _GRAMMAR.match(text)
    if m is None or not any(m.groups()):
        plain = "plain seconds (90) or " if plain_seconds else ""
        raise InvalidValue(
            f"{text!r} is not a duration: use {plain}whole numbers with a unit w, d, h, m or "
            f"s, largest first (like {EXAMPLES})",
            loc,
        )
    return sum(int(n) * size for n, size in zip(m.groups(), UNITS.values(), strict=True) if n)


def format_duration(seconds: float, *, parts: int | None = None) -> str:
    """``9000`` → ``"2h30m"``: whole seconds in the grammar of :func:`parse_duration`, at most
    ``parts`` units when given (``parts=2``: ``"2h5m"`` for 7530 s, for a rough reading)."""
    rest = int(abs(seconds))
    out: list[str] = []
    for unit, size in UNITS.items():
        n, rest = divmod(rest, size)
        if n and (parts is None or len(out) < parts):
            out.append(f"{n}{unit}")
        elif out and parts is not None:
            break
    return "".join(out) or "0s"

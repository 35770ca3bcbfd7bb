"""What every family of check plugins shares: the service states, the worst of several, and
a value against (warn, crit) levels."""

from __future__ import annotations

OK, WARN, CRIT, UNKNOWN = 0, 1, 2, 3

_ORDER = {OK: 0, WARN: 1, UNKNOWN: 2, CRIT: 3}


def worst(*states: int) -> int:
    """The worst of service states: CRIT > UNKNOWN > WARN > OK (as Nagios and Checkmk rank
    them; an unknown number counts as UNKNOWN)."""
    return max(states, key=lambda s: _ORDER.get(s, 2), default=OK)


def upper(value: float, levels: tuple[float, float] | None) -> int:
    """State of ``value`` against upper (warn, crit) levels; None: no levels."""
    if levels is None:
        return OK
    warn, crit = levels
    return CRIT if value >= crit else WARN if value >= warn else OK


def lower(value: float, levels: tuple[float, float] | None) -> int:
    """State of ``value`` against lower (warn, crit) levels; None: no levels."""
    if levels is None:
        return OK
    warn, crit = levels
    return CRIT if value < crit else WARN if value < warn else OK

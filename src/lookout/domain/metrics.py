"""A metric: a named number with unit and optional thresholds (Nagios perfdata compatible)."""

from __future__ import annotations

import msgspec


class Metric(msgspec.Struct, frozen=True, omit_defaults=True, forbid_unknown_fields=True, gc=False):
    """One measured value with its unit; ``warn``/``crit`` are the thresholds drawn as lines
    (for a perfdata range ``start:end`` the end, or the start where no end is given)."""

    name: str
    value: float
    unit: str = ""
    warn: float | None = None
    crit: float | None = None
    min: float | None = None
    max: float | None = None

"""A metric: a named number with unit and optional thresholds (Nagios perfdata compatible)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from lookout.domain.values import MAX_NAME, NUMBER_MAX

Number = Annotated[float, msgspec.Meta(ge=-NUMBER_MAX, le=NUMBER_MAX)]
"""A finite number of magnitude ≤ 1e300: checked by msgspec (in C) whenever a Metric is
decoded, from an API body or the journal; code that builds Metrics itself checks them with
``values.check_metrics``."""
Label = Annotated[str, msgspec.Meta(max_length=MAX_NAME)]


class Metric(msgspec.Struct, frozen=True, omit_defaults=True, forbid_unknown_fields=True, gc=False):
    """One measured value with its unit; ``warn``/``crit`` are the thresholds drawn as lines
    (for a perfdata range ``start:end`` the end, or the start where no end is given)."""

    name: Label
    value: Number
    unit: Label = ""
    warn: Number | None = None
    crit: Number | None = None
    min: Number | None = None
    max: Number | None = None

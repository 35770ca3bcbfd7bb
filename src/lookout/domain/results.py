"""A check result: what a data source says about one host or service at one time."""

from __future__ import annotations

import msgspec

from lookout.domain.metrics import Metric


class CheckResult(msgspec.Struct, frozen=True, array_like=True, omit_defaults=True, gc=False):
    """State + summary + details + metrics for one object. ``service == ""`` is a host result
    (0 UP, 1 DOWN, 2 UNREACHABLE); ``checked_at`` is when it was measured (Unix seconds),
    ``None`` meaning "when it arrived"."""

    host: str
    service: str
    state: int
    summary: str = ""
    long_output: str = ""
    metrics: tuple[Metric, ...] = ()
    checked_at: float | None = None

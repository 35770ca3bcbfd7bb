"""The perfdata text Livestatus shows reads back as the metrics it came from."""

from __future__ import annotations

import pytest

from lookout.domain.metrics import Metric
from lookout.domain.perfdata import format_perfdata, parse_perfdata
from lookout.livestatus.objects import _one


@pytest.mark.parametrize(
    "metric",
    [
        Metric("load1", 1.18, "", 5.0, 10.0, 0.0),
        Metric("/", 24698159104.0, "B", 216442024755.0, 243497277849.0, 0.0, 270552530944.0),
        Metric("time", 0.000123, "s", 1.0, 2.0),
        Metric("used", 97.5, "%", 80.0, 90.0, 0.0, 100.0),
        Metric("users", 0.0),
        Metric("big", 1e20, "", None, None, None, 3.0),
        Metric("with space", 1.0, "MB"),
        Metric("q'uote", -2.5, "c"),
        Metric("e-unit", 1.0, "e"),
    ],
)
def test_perfdata_text_matches_the_formatter(metric: Metric) -> None:
    text = _one(metric)
    assert text == format_perfdata((metric,))
    assert parse_perfdata(text) == (metric,)

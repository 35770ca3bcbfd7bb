"""Server-side SVG graphs and timelines."""

from __future__ import annotations

import re

import pytest

from lookout.web.ui import graphs


def test_graph_draws_levels_and_bridges_short_gaps_only() -> None:
    start, end = 0.0, 4 * 3600.0
    points: list[tuple[float, float | None]] = [(t * 60.0, None) for t in range(240)]
    for t in range(0, 60, 5):  # every five minutes for the first hour
        points[t] = (t * 60.0, float(t))
    points[200] = (200 * 60.0, 5.0)  # after a long gap: a line of its own
    points[201] = (201 * 60.0, 6.0)
    svg = str(graphs.graph(graphs.Series("load", "", 4.0, 8.0, points), start, end))
    assert svg.count("<polyline") == 2
    assert 'class="g-warn"' in svg
    assert 'class="g-crit"' in svg
    assert "no data" not in svg


def test_graph_without_data_says_so_and_escapes_names() -> None:
    svg = str(graphs.graph(graphs.Series("<b>", "", None, None, [(0, None)]), 0, 100))
    assert "no data in this range" in svg
    assert "<b>" not in svg


def test_timeline_segments_have_titles() -> None:
    svg = str(
        graphs.timeline(
            [graphs.Segment(0, 50, "ok", "OK"), graphs.Segment(50, 100, "crit", "CRIT")], 0, 100
        )
    )
    assert len(re.findall(r"<rect class=\"t-", svg)) == 2
    assert "CRIT from" in svg


def test_numbers_are_short() -> None:
    assert graphs.fmt(1500, "B") == "1.46 KiB"
    assert graphs.fmt(2_500_000) == "2.5M"
    assert graphs.fmt(0.0123, "s") == "0.0123 s"


def test_axis_ticks_are_round_numbers() -> None:
    assert graphs.nice_ticks(0, 6.4) == [0, 2, 4, 6, 8]
    assert graphs.nice_ticks(0, 100) == [0, 25, 50, 75, 100]
    assert graphs.nice_ticks(40, 83) == [40, 60, 80, 100]
    assert graphs.nice_ticks(0.0, 0.012) == pytest.approx([0, 0.005, 0.01, 0.015])

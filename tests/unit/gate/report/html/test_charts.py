"""SVG charts: scales, gaps, thresholds, escaping; value formatting."""

from __future__ import annotations

import math
import re

import pytest
from promgate.core.judging.format import format_value
from promgate.report.html.charts import Chart, Line, Threshold, render_chart


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (0.0452, "seconds", "45.2ms"),
        (0.0012, "seconds", "1.2ms"),
        (1.234, "seconds", "1.234s"),
        (0.0, "seconds", "0.0ms"),
        (4.5, "percent", "4.50%"),
        (411.52, "rps", "411.52 rps"),
        (123456, "count", "123,456"),
        (2.5, "count", "2.50"),
        (None, "seconds", "no data"),
        (math.nan, "percent", "no data"),
        (math.inf, "seconds", "∞"),
    ],
)
def test_format_value(value: float | None, unit: str, text: str) -> None:
    assert format_value(value, unit) == text


def _points(svg: str) -> list[list[tuple[float, float]]]:
    return [
        [tuple(map(float, p.split(","))) for p in m.split()]  # type: ignore[misc]
        for m in re.findall(r'<polyline points="([^"]+)"', svg)
    ]


def test_lines_stay_inside_the_plot_and_nan_makes_a_gap() -> None:
    pts = [(100.0 + i, float(i)) for i in range(10)]
    pts[5] = (105.0, math.nan)
    svg = render_chart(Chart("c", "count", [Line("l", pts)]), 100, 109, width=500, height=200)
    segments = _points(svg)
    assert len(segments) == 2  # split at the NaN
    for seg in segments:
        for x, y in seg:
            assert 62 <= x <= 500 - 14 and 14 <= y <= 200 - 30
    assert segments[0][0][1] > segments[1][-1][1]  # larger value, higher up (smaller y)


def test_threshold_near_the_data_is_drawn_far_one_is_noted() -> None:
    line = Line("p95", [(0.0, 0.1), (10.0, 0.12)])
    near = render_chart(Chart("t", "seconds", [line], [Threshold("warning", 0.2)]), 0, 10)
    assert "stroke-dasharray" in near and "above the chart" not in near
    far = render_chart(
        Chart("t", "seconds", [line], [Threshold("critical", 5.0, "critical")]), 0, 10
    )
    assert "critical 5.000s ↑ above the chart" in far
    # The scale follows the data, not the far threshold.
    assert "5.00 s</text>" not in far.replace("↑", "")


def test_no_data_says_so() -> None:
    svg = render_chart(Chart("Users", "count", [Line("users", [])]), 0, 60)
    assert "no data in this window" in svg


def test_titles_and_labels_are_escaped() -> None:
    svg = render_chart(
        Chart('<x> & "y"', "count", [Line("a", [(0, 1), (1, 2)])], [Threshold("<t>", 1.5)]), 0, 1
    )
    assert "<x>" not in svg and "<t>" not in svg
    assert "&lt;x&gt; &amp; &quot;y&quot;" in svg and "&lt;t&gt;" in svg


def test_time_axis_is_elapsed_minutes() -> None:
    svg = render_chart(Chart("c", "count", [Line("a", [(0, 1), (3600, 2)])]), 0, 3600)
    ticks = re.findall(r'text-anchor="middle" [^>]*>(\d+:\d\d(?::\d\d)?)</text>', svg)
    assert ticks[0] == "0:00" and ticks[-1] == "1:00:00"

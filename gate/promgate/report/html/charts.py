"""Inline SVG line charts for the HTML report: no JavaScript, no external assets.

A chart is drawn from already-fetched points so the renderer never touches the network and the
file works offline as a CI artifact. Every text that reaches the SVG is escaped. Colours, strokes
and fonts are SVG presentation attributes, not CSS: a strict Content-Security-Policy (Jenkins's
default refuses inline styles) or a missing stylesheet leaves the charts intact.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

from ...core.judging.format import format_value

__all__ = [
    "PALETTE",
    "Chart",
    "Line",
    "Threshold",
    "off_scale",
    "render_chart",
    "swatch",
    "threshold_key",
]

#: Okabe-Ito colours: distinguishable with the common colour-vision deficiencies and in print.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
_SEVERITY_COLOUR = {"warning": "#B25E00", "critical": "#C62828"}
_DASH = {"warning": "6 4", "critical": "2 3"}
_FONT = 'font-family="system-ui,-apple-system,Segoe UI,Roboto,DejaVu Sans,sans-serif"'
_GRID = 'stroke="#e8ebef" stroke-width="1"'
_AXIS = 'stroke="#8a939e" stroke-width="1"'
_TICK = f'font-size="11" fill="#5b6470" {_FONT}'
_THLABEL = f'font-size="11" font-weight="600" {_FONT}'
_NODATA = f'font-size="14" fill="#5b6470" {_FONT}'
# A threshold far above the data would flatten the lines into the x axis; beyond this factor of
# the data's maximum it is noted at the top edge instead of stretching the scale.
_THRESHOLD_STRETCH = 3.0


@dataclass(frozen=True)
class Line:
    label: str
    #: (unix seconds, value); NaN values break the line (a gap in the data).
    points: Sequence[tuple[float, float]]


@dataclass(frozen=True)
class Threshold:
    label: str
    value: float
    severity: str = "warning"  # "warning" | "critical"


@dataclass(frozen=True)
class Chart:
    title: str
    #: the values' unit (a gate unit name: "seconds", "rps", "percent", "count")
    unit: str
    lines: Sequence[Line]
    thresholds: Sequence[Threshold] = field(default_factory=tuple)
    #: the whole width of the report (the chart people look at first)
    wide: bool = False


def off_scale(chart: Chart) -> list[Threshold]:
    """Thresholds too far above the data to draw without flattening the lines."""
    data_max = max(_finite([v for line in chart.lines for _, v in line.points]), default=0.0)
    if data_max <= 0:
        return []
    return [th for th in chart.thresholds if th.value > data_max * _THRESHOLD_STRETCH]


def _tick(value: float, unit: str) -> str:
    """An axis label: as short as the step allows (``2.5/s``, not ``2.5000/s``)."""
    if unit in ("seconds", "ms"):
        return format_value(value, unit)
    text = f"{value:,.6g}"
    return {"percent": f"{text}%", "rps": f"{text} rps"}.get(unit, text)


def _nice_step(span: float, target: int = 5) -> float:
    """A 1-2-5 step giving about ``target`` ticks over ``span``."""
    raw = span / max(target, 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    for mult in (1, 2, 2.5, 5, 10):
        if raw <= mult * mag:
            return mult * mag
    return 10 * mag


def _time_step(span: float) -> float:
    for step in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200):
        if span / step <= 8:
            return float(step)
    return 86400.0


def _elapsed(seconds: float) -> str:
    s = round(seconds)
    if s >= 3600:
        return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
    return f"{s // 60}:{s % 60:02d}"


def _finite(values: Sequence[float]) -> list[float]:
    return [v for v in values if not (math.isnan(v) or math.isinf(v))]


@dataclass(frozen=True)
class _Frame:
    """The plot area in the SVG's pixels and the scales that map time and value onto it."""

    left: int
    top: int
    plot_w: int
    plot_h: int
    start: float
    end: float
    span: float
    y_max: float
    y_step: float

    def x(self, t: float) -> float:
        return (
            self.left + (min(max(t, self.start), self.end) - self.start) / self.span * self.plot_w
        )

    def y(self, v: float) -> float:
        return self.top + self.plot_h - (min(max(v, 0.0), self.y_max) / self.y_max) * self.plot_h


class _LabelSlots:
    """Heights taken by labels: labels of nearby thresholds would print over each other."""

    def __init__(self) -> None:
        self.used: list[float] = []

    def place(self, preferred: Sequence[float]) -> float:
        """The first free of ``preferred``, then further down; the first when all are taken."""
        for cand in [*preferred, *(preferred[-1] + 13 * k for k in range(1, 6))]:
            if all(abs(cand - u) >= 12 for u in self.used):
                self.used.append(cand)
                return cand
        self.used.append(preferred[0])
        return preferred[0]


def render_chart(
    chart: Chart, start: float, end: float, width: int = 560, height: int = 230
) -> str:
    """One chart as an ``<svg>`` element (x: time since ``start``; y: from 0)."""
    data = _finite([v for line in chart.lines for _, v in line.points])
    above = off_scale(chart)
    frame = _frame(chart, data, above, start, end, width, height)
    label = escape(f"{chart.title} over the run", quote=True)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{label}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(chart.title)}</title>",
        *_y_grid(frame, chart.unit),
        *_x_axis(frame),
    ]
    slots = _LabelSlots()
    lines, labels = _threshold_lines(chart, frame, above, slots)
    parts += [*lines, *_data_lines(chart, frame)]
    if above:
        labels.append(_above_note(chart, frame, above, slots))
    parts.extend(labels)
    if not data:
        parts.append(
            f'<text x="{frame.left + frame.plot_w / 2:.0f}" '
            f'y="{frame.top + frame.plot_h / 2:.0f}" text-anchor="middle" '
            f"{_NODATA}>no data in this window</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _frame(
    chart: Chart,
    data: Sequence[float],
    above: Sequence[Threshold],
    start: float,
    end: float,
    width: int,
    height: int,
) -> _Frame:
    """The plot area and a value scale from 0 to a round step above the data and the
    thresholds drawn."""
    left, right, top, bottom = 62, 14, 14, 30
    y_max = max([*data, *(th.value for th in chart.thresholds if th not in above)], default=0.0)
    y_max = y_max * 1.08 if y_max > 0 else 1.0
    y_step = _nice_step(y_max)
    y_max = math.ceil(y_max / y_step - 1e-9) * y_step
    span = max(end - start, 1.0)
    return _Frame(
        left, top, width - left - right, height - top - bottom, start, end, span, y_max, y_step
    )


def _y_grid(frame: _Frame, unit: str) -> list[str]:
    parts = []
    for i in range(round(frame.y_max / frame.y_step) + 1):
        v = i * frame.y_step
        yy = frame.y(v)
        parts.append(
            f'<line x1="{frame.left}" x2="{frame.left + frame.plot_w}" y1="{yy:.1f}" '
            f'y2="{yy:.1f}" {_GRID}/>'
        )
        parts.append(
            f'<text x="{frame.left - 6}" y="{yy + 4:.1f}" text-anchor="end" {_TICK}>'
            f"{escape(_tick(v, unit))}</text>"
        )
    return parts


def _x_axis(frame: _Frame) -> list[str]:
    """Ticks at round seconds since the run's start, and the axis line."""
    parts = []
    bottom = frame.top + frame.plot_h
    t_step = _time_step(frame.span)
    t = 0.0
    while t <= frame.span + 1e-9:
        xx = frame.x(frame.start + t)
        parts.append(
            f'<line x1="{xx:.1f}" x2="{xx:.1f}" y1="{bottom}" y2="{bottom + 4}" '
            f'{_AXIS}/><text x="{xx:.1f}" y="{bottom + 17}" text-anchor="middle" '
            f"{_TICK}>{_elapsed(t)}</text>"
        )
        t += t_step
    parts.append(
        f'<line x1="{frame.left}" x2="{frame.left + frame.plot_w}" y1="{bottom}" '
        f'y2="{bottom}" {_AXIS}/>'
    )
    return parts


def _threshold_lines(
    chart: Chart, frame: _Frame, above: Sequence[Threshold], slots: _LabelSlots
) -> tuple[list[str], list[str]]:
    """Each threshold on the scale as a dashed line, and its label (drawn over the data)."""
    lines: list[str] = []
    labels: list[str] = []
    for th in chart.thresholds:
        if th in above:
            continue
        colour = _SEVERITY_COLOUR.get(th.severity, _SEVERITY_COLOUR["warning"])
        text = escape(f"{th.label} {format_value(th.value, chart.unit)}")
        yy = frame.y(th.value)
        dash = _DASH.get(th.severity, _DASH["warning"])
        lines.append(
            f'<line x1="{frame.left}" x2="{frame.left + frame.plot_w}" y1="{yy:.1f}" '
            f'y2="{yy:.1f}" stroke="{colour}" stroke-width="1.5" stroke-dasharray="{dash}"/>'
        )
        ty = slots.place([yy - 4, yy + 13] if yy - 4 > frame.top + 8 else [yy + 13])
        # A white halo keeps the label readable where a data line crosses it.
        labels.append(
            f'<text x="{frame.left + frame.plot_w - 4}" y="{ty:.1f}" text-anchor="end" '
            f'{_THLABEL} fill="{colour}" stroke="#fff" stroke-width="3" '
            f'paint-order="stroke">{text}</text>'
        )
    return lines, labels


def _data_lines(chart: Chart, frame: _Frame) -> list[str]:
    """Each line in its colour; a point alone between gaps as a dot."""
    parts = []
    for i, line in enumerate(chart.lines):
        colour = PALETTE[i % len(PALETTE)]
        for segment in _segments(line.points):
            if len(segment) == 1:
                tx, tv = segment[0]
                parts.append(
                    f'<circle cx="{frame.x(tx):.1f}" cy="{frame.y(tv):.1f}" r="2.5" '
                    f'fill="{colour}"/>'
                )
                continue
            path = " ".join(f"{frame.x(tx):.1f},{frame.y(tv):.1f}" for tx, tv in segment)
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2" '
                'stroke-linejoin="round" stroke-linecap="round"/>'
            )
    return parts


def _above_note(chart: Chart, frame: _Frame, above: Sequence[Threshold], slots: _LabelSlots) -> str:
    """One note at the top edge for every threshold off the scale: the legend lists each
    with its value."""
    one = above[0]
    note = (
        f"{one.label} {format_value(one.value, chart.unit)} ↑ above the chart"
        if len(above) == 1
        else f"↑ {len(above)} thresholds above the chart (see legend)"
    )
    return (
        f'<text x="{frame.left + frame.plot_w - 4}" y="{slots.place([frame.top + 11]):.1f}" '
        f'text-anchor="end" {_THLABEL} fill="{_SEVERITY_COLOUR["warning"]}" stroke="#fff" '
        f'stroke-width="3" paint-order="stroke">{escape(note)}</text>'
    )


def swatch(index: int) -> str:
    """The legend key of the chart's ``index``-th line: a short bar in its colour."""
    colour = PALETTE[index % len(PALETTE)]
    return (
        '<svg class="swatch" width="14" height="4" viewBox="0 0 14 4" aria-hidden="true">'
        f'<rect width="14" height="4" rx="2" fill="{colour}"/></svg>'
    )


def threshold_key(severity: str) -> str:
    """The legend key of a threshold: its line as the chart draws it (colour and dashes)."""
    colour = _SEVERITY_COLOUR.get(severity, _SEVERITY_COLOUR["warning"])
    dash = _DASH.get(severity, _DASH["warning"])
    return (
        '<svg class="th" width="16" height="4" viewBox="0 0 16 4" aria-hidden="true">'
        f'<line x1="0" x2="16" y1="2" y2="2" stroke="{colour}" stroke-width="2" '
        f'stroke-dasharray="{dash}"/></svg>'
    )


def _segments(points: Sequence[tuple[float, float]]) -> list[list[tuple[float, float]]]:
    """Split at NaN / infinite values so a gap in the data shows as a gap, not a straight line."""
    out: list[list[tuple[float, float]]] = [[]]
    for t, v in sorted(points):
        if math.isnan(v) or math.isinf(v):
            if out[-1]:
                out.append([])
            continue
        out[-1].append((t, v))
    return [seg for seg in out if seg]

"""The HTML report's ``latency_regression`` section: per endpoint the baseline and run values,
effect, confidence, spread and reason; for an endpoint that failed or warned, the baseline's and
the run's response-time distributions over the histogram buckets, as an inline SVG (colours as
presentation attributes, like ``charts.py``, so a strict Content-Security-Policy keeps them)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from ...core.judging.format import VERDICT_GLYPHS, VERDICT_WORDS, display_state, format_value
from ..regression_rows import HEADER, RegressionRow, cells
from .charts import PALETTE

__all__ = ["distribution_chart", "regression_section"]

_FONT = 'font-family="system-ui,-apple-system,Segoe UI,Roboto,DejaVu Sans,sans-serif"'
_TICK = f'font-size="11" fill="#5b6470" {_FONT}'
_GRID = 'stroke="#e8ebef" stroke-width="1"'
_AXIS = 'stroke="#8a939e" stroke-width="1"'


def regression_section(rows: Sequence[RegressionRow], baseline: str) -> str:
    if not rows:
        return ""
    body = []
    for r in rows:
        texts = cells(r)[:-1]
        state = display_state(r.verdict)
        badge = (
            f'<span class="badge v-{state}">{VERDICT_GLYPHS[state]} '
            f"{escape(VERDICT_WORDS[state])}</span>"
        )
        first = f"<strong>{escape(r.check)}</strong> {escape(texts[0])}"
        detail = f'<div class="detail">{escape(r.reason)}</div>'
        rest = "".join(f'<td class="n">{escape(t)}</td>' for t in texts[1:])
        body.append(f"<tr><td>{badge}</td><td>{first}{detail}</td>{rest}</tr>")
    head = "".join(f'<th class="n">{escape(h)}</th>' for h in HEADER[1:-1])
    charts = [
        f"<figure>{distribution_chart(r)}<figcaption>{escape(r.check)} {escape(r.endpoint)}: "
        f"share of requests per histogram bucket, baseline vs this run</figcaption></figure>"
        for r in rows
        if r.verdict in ("fail", "warning") and r.bounds
    ]
    figures = f'<div class="charts">{"".join(charts)}</div>' if charts else ""
    return (
        f'<section><h2>Latency regression</h2><p class="hint">Baseline: {escape(baseline)}. '
        "A shift fails only when it crosses the condition, is significant at the check's "
        "confidence and is larger than the history's own run-to-run spread.</p>"
        f"<table><thead><tr><th>Verdict</th><th>Endpoint</th>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>{figures}</section>"
    )


def distribution_chart(row: RegressionRow, width: int = 560, height: int = 230) -> str:
    """Grouped bars: the share of the baseline's and of the run's requests in each bucket."""
    shares = _shares(row)
    left, right, top, bottom = 48, 14, 26, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    y_max = max([max(b, r) for _, b, r in shares] or [0.0]) or 1.0
    y_max = math.ceil(y_max * 10 + 1e-9) / 10
    label = escape(f"{row.check} {row.endpoint}: response-time distribution", quote=True)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{label}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{label}</title>",
    ]

    def y(v: float) -> float:
        return top + plot_h - v / y_max * plot_h

    for i in range(5):
        v = y_max * i / 4
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y(v):.1f}" y2="{y(v):.1f}" {_GRID}/>'
            f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end" {_TICK}>{v:.0%}</text>'
        )
    band = plot_w / max(len(shares), 1)
    bar = band * 0.38
    for i, (bound, b, r) in enumerate(shares):
        x0 = left + i * band + band * 0.1
        for k, (share, colour) in enumerate(((b, PALETTE[0]), (r, PALETTE[1]))):
            parts.append(
                f'<rect x="{x0 + k * bar:.1f}" y="{y(share):.1f}" width="{bar:.1f}" '
                f'height="{top + plot_h - y(share):.1f}" fill="{colour}"/>'
            )
        tick = "+Inf" if bound is None else f"≤{format_value(bound, 'seconds')}"
        parts.append(
            f'<text x="{left + (i + 0.5) * band:.1f}" y="{top + plot_h + 16}" '
            f'text-anchor="middle" {_TICK}>{escape(tick)}</text>'
        )
    parts.append(
        f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" {_AXIS}/>'
    )
    parts.extend(_legend(row, left))
    parts.append("</svg>")
    return "".join(parts)


def _shares(row: RegressionRow) -> list[tuple[float | None, float, float]]:
    """(bucket bound, baseline's share, run's share) of the buckets that hold requests, and one
    empty neighbour each side for context."""
    n_base, n_run = sum(row.baseline_counts), sum(row.run_counts)
    shares = [
        (
            bound,
            b / n_base if n_base else 0.0,
            r / n_run if n_run else 0.0,
        )
        for bound, b, r in zip(row.bounds, row.baseline_counts, row.run_counts, strict=False)
    ]
    used = [i for i, (_, b, r) in enumerate(shares) if b > 0 or r > 0]
    if not used:
        return shares
    lo, hi = max(used[0] - 1, 0), min(used[-1] + 1, len(shares) - 1)
    return shares[lo : hi + 1]


def _legend(row: RegressionRow, left: int) -> list[str]:
    """Each side's colour, requests and median, in a row above the bars."""
    med_b, med_r = _ms(row.median.baseline), _ms(row.median.run)
    legend = (
        (PALETTE[0], f"baseline ({row.baseline_requests or 0:,.0f} requests, median {med_b})"),
        (PALETTE[1], f"this run ({row.requests or 0:,.0f} requests, median {med_r})"),
    )
    parts = []
    x = float(left)
    for colour, text in legend:
        parts.append(
            f'<rect x="{x:.0f}" y="8" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14:.0f}" y="17" {_TICK}>{escape(text)}</text>'
        )
        x += 14 + 6.2 * len(text) + 16
    return parts


def _ms(value: float | None) -> str:
    return format_value(value, "seconds")

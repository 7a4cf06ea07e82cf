"""The HTML report: one self-contained file (inline CSS and SVG, no scripts, no external assets).

Under a strict Content-Security-Policy (Jenkins serves archived HTML with ``style-src 'self'``)
the inline stylesheet is refused; the page then takes the same rules from a ``<link>`` to the
stylesheet written beside it (``write.write_html``). No ``style=""`` attribute anywhere: the
policy refuses those too, so colours that vary are SVG presentation attributes.

It is built from a ``ReportData`` that ``data.report_data`` fills from the gate's result alone, so
rendering is pure and testable without a network. Every label value (endpoint names, error texts,
run ids) is escaped: they come from the system under test and may hold ``<``, quotes or unicode.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

from ...core.judging.format import (
    KEY_LINES_LABEL,
    NO_DATA,
    REPORT_ONLY,
    SEVERITY_ORDER,
    VERDICT_GLYPHS,
    VERDICT_MEANINGS,
    VERDICT_WORDS,
    format_value,
    key_lines,
)
from ...core.model.runreport import EndpointRow, ErrorRow
from ...levels import ERROR_RATIO
from ..regression_rows import RegressionRow
from .charts import Chart, off_scale, render_chart, swatch, threshold_key
from .regression_section import regression_section
from .style import CSS

__all__ = [
    "VERDICTS",
    "CheckRow",
    "EndpointRow",
    "ErrorRow",
    "ReportData",
    "Summary",
    "render_html",
    "summary_key_lines",
]

#: state -> (banner text, glyph, explanation), from the one vocabulary in
#: ``core.judging.format``. The glyph and text carry the meaning, so the verdict never depends
#: on colour alone.
VERDICTS: dict[str, tuple[str, str, str]] = {
    state: (word, VERDICT_GLYPHS[state], VERDICT_MEANINGS[state])
    for state, word in VERDICT_WORDS.items()
}


@dataclass(frozen=True)
class CheckRow:
    name: str
    #: a state of ``core.judging.format.VERDICT_WORDS``:
    #: pass | warning | fail | skip | no_data | unknown
    verdict: str
    value: float | None
    #: unit of value and baseline (a gate unit name: "seconds", "percent", "rps", "count")
    unit: str = "count"
    warning: str = ""
    critical: str = ""
    baseline: float | None = None
    #: change from the baseline in percent of the baseline
    delta_pct: float | None = None
    detail: str = ""
    query: str = ""


@dataclass(frozen=True)
class Summary:
    requests: float | None = None
    failures: float | None = None
    #: a ratio (x100 for Locust's percent)
    error_ratio: float | None = None
    rps: float | None = None
    avg: float | None = None
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    peak_users: float | None = None


@dataclass(frozen=True)
class ReportData:
    run_id: str
    job: str = "locust"
    start: float | None = None
    end: float | None = None
    verdict: str = "unknown"
    summary: Summary = field(default_factory=Summary)
    checks: Sequence[CheckRow] = ()
    charts: Sequence[Chart] = ()
    endpoints: Sequence[EndpointRow] = ()
    errors: Sequence[ErrorRow] = ()
    baseline_run_id: str | None = None
    #: ``latency_regression`` per endpoint, and what it was compared with
    regressions: Sequence[RegressionRow] = ()
    baseline_text: str = ""
    #: problems met while gathering the data, shown to the reader instead of hidden
    notes: Sequence[str] = ()
    #: when the result was made (``GateResult.generated_at``); None: not shown
    generated: float | None = None
    #: ``promgate run`` stopped the load test early: when and why (empty: it ran to its end)
    aborted: str = ""
    #: the ``mode: report`` checks, shown in their own table (never counted)
    report_checks: Sequence[CheckRow] = ()
    #: the run's Grafana dashboard (``--grafana-url``; empty: no link)
    dashboard_url: str = ""


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _num(value: float | None) -> bool:
    return value is not None and not math.isnan(value)


def summary_key_lines(summary: Summary) -> tuple[str, str]:
    """The two lines CI scripts read from the report (``core.judging.format.key_lines``)."""
    err = summary.error_ratio * 100 if summary.error_ratio is not None else None
    return key_lines(summary.p95, err)


def _utc(ts: float | None) -> str:
    if ts is None or not math.isfinite(ts):
        return NO_DATA
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))


def _duration(start: float | None, end: float | None) -> str:
    if start is None or end is None:
        return NO_DATA
    s = round(end - start)
    if s < 60:
        return f"{s}s"
    return f"{s // 3600}h {s % 3600 // 60}m {s % 60}s" if s >= 3600 else f"{s // 60}m {s % 60}s"


def _header(d: ReportData) -> str:
    baseline = (
        f"<div><dt>Baseline</dt><dd><code>{_e(d.baseline_run_id)}</code></dd></div>"
        if d.baseline_run_id
        else ""
    )
    return (
        '<header><p class="kicker">promgate · load-test report</p>'
        f"<h1>Run <code>{_e(d.run_id)}</code></h1>"
        '<dl class="meta">'
        f"<div><dt>Job</dt><dd><code>{_e(d.job)}</code></dd></div>"
        f"<div><dt>Started</dt><dd>{_e(_utc(d.start))}</dd></div>"
        f"<div><dt>Duration</dt><dd>{_e(_duration(d.start, d.end))}</dd></div>"
        f"{baseline}"
        + (
            f'<div><dt>Dashboard</dt><dd><a href="{_e(d.dashboard_url)}">Grafana</a></dd></div>'
            if d.dashboard_url
            else ""
        )
        + (
            f"<div><dt>Report generated</dt><dd>{_e(_utc(d.generated))}</dd></div>"
            if d.generated is not None
            else ""
        )
        + "</dl></header>"
    )


def _verdict(d: ReportData) -> str:
    text, glyph, explanation = VERDICTS.get(d.verdict, VERDICTS["unknown"])
    counts: dict[str, int] = {}
    for check in d.checks:
        counts[check.verdict] = counts.get(check.verdict, 0) + 1
    order = sorted(counts, key=lambda v: SEVERITY_ORDER.index(v) if v in SEVERITY_ORDER else 99)
    tally = ", ".join(f"{counts[v]} {VERDICTS.get(v, (v,))[0].lower()}" for v in order)
    detail = f"{len(d.checks)} checks: {tally}" if d.checks else explanation
    cls = d.verdict if d.verdict in VERDICTS else "unknown"
    return (
        f'<section class="verdict v-{cls}" role="status" aria-label="Verdict: {_e(text)}">'
        f'<span class="glyph" aria-hidden="true">{glyph}</span>'
        f'<div><p class="vtext">{_e(text)}</p><p class="vdetail">{_e(detail)}</p>'
        + (f'<p class="vdetail">Load test {_e(d.aborted)}</p>' if d.aborted else "")
        + "</div>"
        "</section>"
    )


def _figures(s: Summary) -> str:
    p95_line, err_line = summary_key_lines(s)
    cards = [
        ("Requests", format_value(s.requests, "count")),
        ("Failures", format_value(s.failures, "count")),
        (
            "Error rate",
            format_value(s.error_ratio * 100 if s.error_ratio is not None else None, "percent"),
        ),
        ("Requests/s", format_value(s.rps, "rps")),
        ("p50", format_value(s.p50, "seconds")),
        ("p95", format_value(s.p95, "seconds")),
        ("p99", format_value(s.p99, "seconds")),
        ("Peak users", format_value(s.peak_users, "count")),
    ]
    items = "".join(f"<div><dt>{_e(k)}</dt><dd>{_e(v)}</dd></div>" for k, v in cards)
    # The key lines stay plain text in one element: CI scripts grep the HTML for them.
    return (
        f'<section aria-label="Key figures"><dl class="figures">{items}</dl>'
        f'<p class="keylines">{_e(KEY_LINES_LABEL)} {_e(p95_line)} · {_e(err_line)}</p>'
        "</section>"
    )


def _checks(checks: Sequence[CheckRow], heading: str = "Checks") -> str:
    if not checks:
        return ""
    rows = []
    for c in checks:
        text, glyph, _ = VERDICTS.get(c.verdict, (c.verdict.upper(), "–", ""))
        cls = c.verdict if c.verdict in VERDICTS else "unknown"
        baseline = format_value(c.baseline, c.unit) if c.baseline is not None else "—"
        delta = "—"
        if c.delta_pct is not None and math.isfinite(c.delta_pct):
            delta = f"{c.delta_pct:+.1f}%"
        detail = f'<div class="detail">{_e(c.detail)}</div>' if c.detail else ""
        query = (
            f'<details><summary>query</summary><code class="q">{_e(c.query)}</code></details>'
            if c.query
            else ""
        )
        rows.append(
            f'<tr><td><span class="badge v-{cls}">{glyph} {_e(text)}</span></td>'
            f"<td><strong>{_e(c.name)}</strong>{detail}{query}</td>"
            f'<td class="n">{_e(format_value(c.value, c.unit))}</td>'
            f'<td class="n">{_e(c.warning or "—")}</td><td class="n">{_e(c.critical or "—")}</td>'
            f'<td class="n">{_e(baseline)}</td><td class="n">{_e(delta)}</td></tr>'
        )
    return (
        f"<section><h2>{_e(heading)}</h2><table><thead><tr><th>Verdict</th><th>Check</th>"
        '<th class="n">Value</th><th class="n">Warning</th><th class="n">Critical</th>'
        '<th class="n">Baseline</th><th class="n">Δ vs baseline</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )


def _charts(d: ReportData) -> str:
    if not d.charts or d.start is None or d.end is None:
        return ""
    figures = []
    for chart in d.charts:
        legend = "".join(
            f"<li>{swatch(i)}{_e(line.label)}</li>" for i, line in enumerate(chart.lines)
        )
        above = off_scale(chart)
        legend += "".join(
            f"<li>{threshold_key(th.severity)}{_e(th.label)} "
            f"{_e(format_value(th.value, chart.unit))}{' ↑' if th in above else ''}</li>"
            for th in chart.thresholds
        )
        wide = ' class="wide"' if chart.wide else ""
        svg = render_chart(chart, d.start, d.end, width=1120 if chart.wide else 560)
        figures.append(
            f"<figure{wide}><figcaption>{_e(chart.title)}</figcaption>"
            f'{svg}<ul class="legend">{legend}</ul></figure>'
        )
    return (
        '<section><h2>Over the run</h2><p class="hint">x axis: time since the run started '
        f'(m:ss)</p><div class="charts">{"".join(figures)}</div></section>'
    )


TOTAL_CLASS = ' class="total"'


def _endpoints(d: ReportData) -> str:
    if not d.endpoints:
        return ""
    rows = sorted(d.endpoints, key=lambda r: (-(r.requests or 0), r.name, r.method))
    s = d.summary
    total = EndpointRow(
        "", "Aggregated", s.requests, s.failures, s.error_ratio, s.avg, s.p50, s.p95, s.p99, s.rps
    )

    def row(r: EndpointRow, cls: str = "") -> str:
        err = r.error_ratio * 100 if r.error_ratio is not None else None
        bad = f' class="n{_error_class(r.error_ratio)}"'
        return (
            f'<tr{cls}><td>{_e(r.method)}</td><td class="name">{_e(r.name)}</td>'
            f'<td class="n">{_e(format_value(r.requests, "count"))}</td>'
            f'<td class="n">{_e(format_value(r.failures, "count"))}</td>'
            f"<td{bad}>{_e(format_value(err, 'percent'))}</td>"
            + "".join(
                f'<td class="n">{_e(format_value(v, "seconds"))}</td>'
                for v in (r.avg, r.p50, r.p95)
            )
            + f'<td class="n">{_e(format_value(r.p99, "seconds"))}</td>'
            f'<td class="n">{_e(format_value(r.rps, "rps"))}</td></tr>'
        )

    head = "".join(
        f'<th class="n">{h}</th>' for h in ("Requests", "Failures", "Fail %", "Avg", "p50", "p95")
    )
    return (
        '<section><h2>Endpoints</h2><table class="endpoints"><thead><tr><th>Method</th>'
        f'<th>Name</th>{head}<th class="n">p99</th><th class="n">RPS</th></tr></thead>'
        f"<tbody>{''.join(row(r) for r in rows)}</tbody>"
        f"<tfoot>{row(total, TOTAL_CLASS)}</tfoot></table></section>"
    )


def _error_class(ratio: float | None) -> str:
    """Fail % coloured by the error-rate levels dashboards and alerts use (levels.py): 0.3 %
    is not as red as a failing run."""
    warning, critical = ERROR_RATIO
    if ratio is None or not math.isfinite(ratio) or ratio < warning:
        return ""
    return " bad" if ratio >= critical else " warn"


def _errors(d: ReportData) -> str:
    if not d.errors:
        body = '<p class="ok">No failed requests.</p>'
        if _num(d.summary.failures) and (d.summary.failures or 0) > 0:
            body = '<p class="hint">Failures were counted, but no error texts were exported.</p>'
        return f"<section><h2>Errors</h2>{body}</section>"
    rows = "".join(
        f'<tr><td class="n">{_e(format_value(r.count, "count"))}</td><td>{_e(r.method)}</td>'
        f'<td class="name">{_e(r.name)}</td><td class="err">{_e(r.error)}</td></tr>'
        for r in sorted(d.errors, key=lambda r: (-r.count, r.name, r.error))
    )
    return (
        '<section><h2>Errors</h2><table><thead><tr><th class="n">Count</th><th>Method</th>'
        f"<th>Name</th><th>Error</th></tr></thead><tbody>{rows}</tbody></table></section>"
    )


def _notes(d: ReportData) -> str:
    if not d.notes:
        return ""
    items = "".join(f"<li>{_e(n)}</li>" for n in d.notes)
    return f'<section class="notes"><h2>Notes</h2><ul>{items}</ul></section>'


def render_html(data: ReportData, stylesheet: str = "") -> str:
    """The whole report as one HTML document; ``stylesheet``: the URL (relative to the report)
    of the same CSS written beside it, for viewers that refuse the inline copy."""
    text = VERDICTS.get(data.verdict, VERDICTS["unknown"])[0]
    title = f"{text} · {data.run_id} · promgate report"
    link = f'<link rel="stylesheet" href="{_e(stylesheet)}">' if stylesheet else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{CSS}</style>{link}</head><body><main>"
        + _header(data)
        + _verdict(data)
        + _figures(data.summary)
        + _checks(data.checks)
        + _checks(data.report_checks, REPORT_ONLY)
        + regression_section(data.regressions, data.baseline_text)
        + _charts(data)
        + _endpoints(data)
        + _errors(data)
        + _notes(data)
        + "<footer>Generated by promgate. Figures are Locust's own whole-run statistics as "
        "exported to Prometheus; charts are live rates from the histogram.</footer>"
        "</main></body></html>\n"
    )

"""The HTML report's data from a gate result alone: a pure function, no client, no clock.

The result holds what the report shows: the gate's figures and checks, the run's profile (peak
users) and ``report`` (the endpoint and errors tables and the charts' lines, read from
Prometheus by ``core.runs.collect.fetch_report``). Rendering the same result twice, today or from
the result file next month, gives the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from ...config.conditions import Condition, parse_condition
from ...config.units import get_unit
from ...core.judging.format import check_title, conditions_text, display_state
from ...core.model.result import CheckResult, GateResult
from ...core.model.runreport import Panel, RunReport
from ...errors import ConfigError
from ..regression_rows import baseline_text, regression_rows
from .charts import Chart, Line, Threshold
from .page import CheckRow, ReportData, Summary

__all__ = ["report_data"]

#: gate unit -> (factor to the report's display unit, display unit)
_DISPLAY = {
    "seconds": (1.0, "seconds"),
    "ms": (1e-3, "seconds"),
    "ratio": (100.0, "percent"),
    "percent": (1.0, "percent"),
    "rps": (1.0, "rps"),
    "count": (1.0, "count"),
    "bytes": (1.0, "bytes"),
}
_LATENCY_PRESETS = ("p50", "p90", "p95", "p99", "avg_response_time", "max_response_time")


def report_data(result: GateResult, *, judged: bool = True) -> ReportData:
    """Everything the HTML report shows of ``result``; ``judged=False`` for a run the gate
    did not judge (``promgate report --run-id``): NOT JUDGED, no checks."""
    figures = result.summary
    error_percent = figures.get("error_rate_percent")
    summary = Summary(
        requests=figures.get("requests"),
        failures=figures.get("failures"),
        error_ratio=error_percent / 100 if error_percent is not None else None,
        rps=figures.get("rps"),
        avg=figures.get("avg_response_time"),
        p50=figures.get("p50"),
        p95=figures.get("p95"),
        p99=figures.get("p99"),
        peak_users=result.profile.peak_users if result.profile is not None else None,
    )
    window, report = result.run, result.report or RunReport()
    notes = [*result.notes, *report.notes]
    if summary.requests is None:
        notes.append(f"no request counts for run {window.run_id!r}: the exporter pushed nothing")
    baseline = result.baseline.run if result.baseline is not None else None
    return ReportData(
        run_id=window.run_id,
        job=window.job,
        start=window.start,
        end=window.end,
        verdict=display_state(result.verdict if judged else None),
        summary=summary,
        checks=_checks(result.checks) if judged else [],
        charts=_charts(report, result) if result.report is not None else [],
        endpoints=list(report.endpoints),
        errors=list(report.errors),
        baseline_run_id=baseline.run_id if baseline is not None else None,
        regressions=regression_rows(result),
        baseline_text=baseline_text(result),
        notes=notes,
        generated=result.generated_at,
        aborted=result.aborted.summary() if result.aborted else "",
        dashboard_url=result.dashboard_url or "",
        report_checks=_checks(result.report_checks) if judged else [],
    )


def _checks(checks: list[CheckResult]) -> list[CheckRow]:
    rows = []
    for c in checks:
        factor, unit = _DISPLAY.get(c.unit, (1.0, "count"))
        value, baseline = _scaled(c.value, factor), _scaled(c.baseline, factor)
        delta = None
        if value is not None and baseline:
            delta = (value - baseline) / abs(baseline) * 100
        limits = {
            level: conditions_text(texts, c.unit, c.baseline, factor=factor, shown_unit=unit)
            for level, texts in (("warning", c.warning), ("critical", c.critical))
        }
        rows.append(
            CheckRow(
                name=check_title(c.name, c.span),
                verdict=display_state(c.verdict, value),
                value=value,
                unit=unit,
                warning=limits["warning"],
                critical=limits["critical"],
                baseline=baseline,
                delta_pct=delta,
                detail=c.reason,
                query=c.query,
            )
        )
    return rows


def _resolve(text: str, check: CheckResult) -> Condition | None:
    """A threshold condition as the gate parsed it, or None when it cannot be read back."""
    try:
        return parse_condition(text, get_unit(check.unit))
    except ConfigError:
        return None


def _scaled(value: object, factor: float) -> float | None:
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value) * factor


def _thresholds(result: GateResult | None, wanted: Callable[[str, str], bool]) -> list[Threshold]:
    """Threshold values of the run-wide checks ``wanted``, in the chart's display unit.

    A check judged per series (per endpoint) has no single line to draw, so it is left out.
    """
    out: list[Threshold] = []
    for c in result.checks if result is not None else []:
        if not wanted(c.name, c.preset or "") or len(c.series) > 1:
            continue
        if c.series and c.series[0].labels:
            continue
        factor = _DISPLAY.get(c.unit, (1.0, "count"))[0]
        for severity, texts in (("warning", c.warning), ("critical", c.critical)):
            for text in texts:
                cond = _resolve(text, c)
                limit = cond.threshold(c.baseline) if cond else None
                scaled = _scaled(limit, factor)
                if scaled is not None:
                    out.append(Threshold(f"{severity} {c.name}", scaled, severity))
    return out


def _charts(report: RunReport, result: GateResult) -> list[Chart]:
    def lines(panel: Panel, scale: float = 1.0) -> list[Line]:
        return [
            Line(line.label, [(t, v * scale) for t, v in line.points])
            for line in report.panel(panel)
        ]

    def is_latency(name: str, preset: str) -> bool:
        base = preset.removesuffix("_hist") if preset else name
        return base in _LATENCY_PRESETS

    return [
        Chart(
            "Users",
            "count",
            lines(Panel.USERS),
            _thresholds(result, lambda n, p: p == "max_users"),
        ),
        Chart(
            "Requests per second",
            "rps",
            lines(Panel.REQUESTS),
            _thresholds(result, lambda n, p: p == "rps"),
        ),
        Chart("Failures per second", "rps", lines(Panel.FAILURES)),
        Chart(
            "Error rate",
            "percent",
            lines(Panel.ERROR_RATIO, 100.0),
            _thresholds(result, lambda n, p: p == "error_rate"),
        ),
        Chart(
            # histogram_quantile interpolates inside a bucket: its line may sit above the tiles
            f"Response time (histogram, {report.rate_window} window; up to one bucket above "
            "Locust's own percentiles in the tiles)",
            "seconds",
            lines(Panel.RESPONSE_TIME),
            _thresholds(result, is_latency),
            wide=True,
        ),
    ]

"""Gathering an HTML report's data: the run's figures, tables and charts from Prometheus, plus
the gate's checks from its JSON result (``promgate check --json``).

Every expression comes from ``queries.py``. Whole-run figures are evaluated at the run's
``eval_time`` (after the final push was scraped) over its window, exactly as the gate judges them;
charts are range queries over the run with a rate window of a few scrape intervals, so each point
holds several samples instead of extrapolating from one.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping

from ... import queries
from ...config.conditions import Condition, parse_condition
from ...config.units import get_unit
from ...core.format import check_title, conditions_text, display_state
from ...core.result import CheckResult, GateResult
from ...core.summary import SUMMARY_QUERIES, summary_value
from ...errors import ConfigError, PrometheusError
from ...prometheus.client import PrometheusClient
from ...prometheus.templating import render
from ...prometheus.types import RunWindow, Sample, Series
from ...prometheus.window import run_selector
from ..regression import baseline_text, regression_rows
from .charts import Chart, Line, Threshold
from .render import CheckRow, EndpointRow, ErrorRow, ReportData, Summary

__all__ = ["collect_report", "per_push_rates"]

#: At most this many points per chart line: enough detail, a small file.
MAX_POINTS = 300
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


def collect_report(
    client: PrometheusClient,
    window: RunWindow,
    result: GateResult | None = None,
    *,
    range_query: Callable[[str, float, float, float], list[Series]] | None = None,
) -> ReportData:
    """Everything the HTML report shows, for one run."""
    notes: list[str] = []
    fetch_range = range_query or client.query_range
    variables = {"job": window.job, "run_id": window.run_id, "window": window.duration}
    sel = run_selector(window.run_id, window.job)

    def instant(template: str) -> list[Sample]:
        try:
            return client.query(render(template, variables), window.eval_time)
        except PrometheusError as exc:
            notes.append(f"query failed: {exc}")
            return []

    def one(template: str, scale: float = 1.0) -> float | None:
        return summary_value(instant(template), scale)

    # The gate's own figures when it judged this run, so every output shows the same numbers.
    figures = (
        dict(result.summary)
        if result is not None
        else {name: one(build(), scale) for name, (build, scale) in SUMMARY_QUERIES.items()}
    )
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
        peak_users=one(queries.max_users()),
    )
    endpoints: dict[tuple[str, str], dict[str, float]] = {}
    for column, template in queries.endpoint_table().items():
        for s in instant(template):
            key = (s.labels.get("method", ""), s.labels.get("name", ""))
            endpoints.setdefault(key, {})[column] = s.value
    errors = [
        ErrorRow(
            s.labels.get("method", ""), s.labels.get("name", ""), s.labels.get("error", ""), s.value
        )
        for s in instant(queries.errors_by_error())
        if math.isfinite(s.value) and s.value > 0
    ]
    checks = _checks(result) if result else []
    push_interval = one(queries.push_interval_seconds())
    charts = _charts(fetch_range, sel, window, result, notes, push_interval)
    verdict = display_state(result.verdict if result is not None else None)
    if summary.requests is None:
        notes.append(f"no request counts for run {window.run_id!r}: the exporter pushed nothing")
    baseline = result.baseline.run if result is not None and result.baseline is not None else None
    return ReportData(
        run_id=window.run_id,
        job=window.job,
        start=window.start,
        end=window.end,
        verdict=verdict,
        summary=summary,
        checks=checks,
        charts=charts,
        endpoints=[_endpoint(k, cols) for k, cols in endpoints.items()],
        errors=errors,
        baseline_run_id=baseline.run_id if baseline is not None else None,
        regressions=regression_rows(result) if result is not None else [],
        baseline_text=baseline_text(result) if result is not None else "",
        notes=[*(result.notes if result is not None else []), *notes],
        aborted=result.aborted.summary() if result is not None and result.aborted else "",
        dashboard_url=(result.dashboard_url or "") if result is not None else "",
    )


def _endpoint(key: tuple[str, str], cols: Mapping[str, float]) -> EndpointRow:
    def get(name: str) -> float | None:
        value = cols.get(name)
        return value if value is not None and math.isfinite(value) else None

    return EndpointRow(
        key[0],
        key[1],
        get("requests"),
        get("failures"),
        get("error_ratio"),
        get("avg"),
        get("p50"),
        get("p95"),
        get("p99"),
        get("rps"),
    )


def _checks(result: GateResult) -> list[CheckRow]:
    rows = []
    for c in result.checks:
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


def _charts(
    fetch: Callable[[str, float, float, float], list[Series]],
    sel: str,
    window: RunWindow,
    result: GateResult | None,
    notes: list[str],
    push_interval: float | None = None,
) -> list[Chart]:
    start, end = window.start, max(window.end, window.start + 1)
    # Counters move once a push: points closer than a push interval, or windows holding only a
    # few pushes, see 1 or 2 pushes' worth by turns and saw-tooth. A step of one push interval
    # keeps every point at the same phase; fewer than ~4 scrapes per window makes rate() empty.
    push = push_interval if push_interval is not None and math.isfinite(push_interval) else 0.0
    step = max(1.0, math.ceil((end - start) / MAX_POINTS), round(push))
    rate_window = f"{math.ceil(max(4 * window.scrape_interval, 3 * push, 2 * step))}s"

    def lines(*exprs: tuple[str, str]) -> list[Line]:
        # Each expression sums over the run's series, so it yields one line named after it.
        out = []
        for name, expr in exprs:
            try:
                out += [Line(name, s.points) for s in fetch(expr, start, end, step)]
            except PrometheusError as exc:
                notes.append(f"chart query failed: {exc}")
        return out

    def per_push(name: str, counter: str) -> list[Line]:
        # rate() over a counter that moves once a push is biased by the window's phase; the
        # counter's own steps divided by the Pushgateway's push times are exact.
        fine = max(window.scrape_interval, (end - start) / 10_000)  # Prometheus caps points
        try:
            values = {t: v for s in fetch(counter, start, end, fine) for t, v in s.points}
            pushed = {
                t: v for s in fetch(queries.push_time(sel), start, end, fine) for t, v in s.points
            }
        except PrometheusError as exc:
            notes.append(f"chart query failed: {exc}")
            return []
        return [Line(name, per_push_rates(values, pushed, MAX_POINTS))]

    def is_latency(name: str, preset: str) -> bool:
        base = preset.removesuffix("_hist") if preset else name
        return base in _LATENCY_PRESETS

    return [
        Chart(
            "Users",
            "count",
            lines(("users", queries.users(sel))),
            _thresholds(result, lambda n, p: p == "max_users"),
        ),
        Chart(
            "Requests per second",
            "rps",
            per_push("requests/s", queries.requests_counter(sel)),
            _thresholds(result, lambda n, p: p == "rps"),
        ),
        Chart(
            "Failures per second",
            "rps",
            per_push("failures/s", queries.failures_counter(sel)),
        ),
        Chart(
            "Error rate",
            "percent",
            [
                Line(line.label, [(t, v * 100) for t, v in line.points])
                for line in lines(("error rate", queries.error_ratio_window(sel, rate_window)))
            ],
            _thresholds(result, lambda n, p: p == "error_rate"),
        ),
        Chart(
            # histogram_quantile interpolates inside a bucket: its line may sit above the tiles
            f"Response time (histogram, {rate_window} window; up to one bucket above Locust's "
            "own percentiles in the tiles)",
            "seconds",
            lines(
                *(
                    (f"p{round(q * 100)}", queries.histogram_quantile_window(q, sel, rate_window))
                    for q in (0.5, 0.95, 0.99)
                ),
            ),
            _thresholds(result, is_latency),
            wide=True,
        ),
    ]


def per_push_rates(
    counter: Mapping[float, float], push_time: Mapping[float, float], max_points: int
) -> list[tuple[float, float]]:
    """Rates between pushes: ``counter`` and ``push_time`` are one series each, keyed by scrape
    time; each distinct push contributes (its push time, its counter value). Rates span
    enough pushes to stay within ``max_points``; a counter that went down (a new group under
    the same run id) starts over."""
    pushes = sorted(
        {push_time[t]: counter[t] for t in counter.keys() & push_time.keys()
         if math.isfinite(counter[t]) and math.isfinite(push_time[t])}.items()
    )  # fmt: skip
    stride = max(1, math.ceil((len(pushes) - 1) / max_points))
    points = []
    for (t0, c0), (t1, c1) in itertools.pairwise(pushes[::stride]):
        if t1 > t0 and c1 >= c0:
            points.append((t1, (c1 - c0) / (t1 - t0)))
    return points

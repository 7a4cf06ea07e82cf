"""Reading one run's figures from Prometheus: per endpoint and its load profile (the I/O behind a
result file's ``endpoints`` and ``profile``, and behind ``latency_regression``), and what the HTML
report shows (``report``: the tables and the time series of its charts)."""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from collections.abc import Callable, Mapping

from ... import queries
from ..._version import __version__
from ...errors import PrometheusError
from ...prometheus.client import PrometheusClient
from ...prometheus.templating import render
from ...prometheus.types import RunWindow, Sample
from ..judging.summary import SUMMARY_QUERIES, summary_value
from ..model.profile import RunProfile
from ..model.result import GateResult, Verdict
from ..model.rundata import AGGREGATED, EndpointRecord, Key, RunData
from ..model.runreport import EndpointRow, ErrorRow, Panel, RunReport, SeriesLine

__all__ = [
    "MAX_POINTS",
    "RECORD_QUERIES",
    "REPORT_QUERIES",
    "REPORT_RANGE_QUERIES",
    "fetch_profile",
    "fetch_report",
    "fetch_run",
    "fetch_verdict",
    "observe_run",
    "per_push_rates",
]

_BY = "method, name"
#: the queries behind a result's ``endpoints`` and ``profile``, templates over the run's
#: variables (``$job``, ``$run_id``, ``$window``) as ``SUMMARY_QUERIES`` are
RECORD_QUERIES: dict[str, str] = {
    "buckets": queries.endpoint_buckets(),
    # every percentile the exporter publishes (Locust's PERCENTILES_TO_REPORT)
    "percentiles": queries.endpoint_percentiles(".+"),
    "run_percentiles": queries.run_percentiles(".+"),
    "requests": queries.requests_total(by=_BY),
    "run_requests": queries.requests_total(),
    "failures": queries.failures_total(by=_BY),
    "run_failures": queries.failures_total(),
    "rps": queries.locust_rps(by=_BY),
    "run_rps": queries.locust_rps(),
    "info": queries.run_info_labels(),
    "peak_users": queries.max_users(),
    # over ``lookback`` and now, not the run's window: the verdict is pushed after the run
    "verdict": queries.run_verdict(),
}


#: At most this many points per chart line: enough detail, a small file.
MAX_POINTS = 300
#: the queries behind a result's ``report``, templates over the run's variables and
#: ``$rate_window`` (the charts' sliding window): instant ones at the run's evaluation time ...
REPORT_QUERIES: dict[str, str] = {
    **{f"endpoint_{column}": expr for column, expr in queries.endpoint_table().items()},
    "errors": queries.errors_by_error(),
    "push_interval": queries.push_interval_seconds(),
}
#: ... and range ones over the run (``$rate_window``: a few scrape and push intervals)
REPORT_RANGE_QUERIES: dict[str, str] = {
    "users": queries.users(),
    "requests": queries.requests_counter(),
    "failures": queries.failures_counter(),
    "push_time": queries.push_time(),
    "error_ratio": queries.error_ratio_window(rate_window="$rate_window"),
    **{
        f"p{round(q * 100)}": queries.histogram_quantile_window(q, rate_window="$rate_window")
        for q in (0.5, 0.95, 0.99)
    },
}


def _asker(client: PrometheusClient, window: RunWindow) -> Callable[[str], list[Sample]]:
    variables = window.variables()
    return lambda name: client.query(render(RECORD_QUERIES[name], variables), window.eval_time)


def fetch_run(client: PrometheusClient, window: RunWindow) -> RunData:
    """The run's bucket counts, Locust percentiles, requests, failures and throughput per
    endpoint and for all requests, at its evaluation time."""
    ask = _asker(client, window)
    buckets: dict[Key, dict[str, float]] = {}
    for s in ask("buckets"):
        le = s.labels.get("le")
        if le is not None and math.isfinite(s.value):
            buckets.setdefault(_key(s), {})[le] = s.value
    percentiles: dict[Key, dict[str, float]] = {}
    for s in ask("percentiles"):
        _put(percentiles, _key(s), s)
    for s in ask("run_percentiles"):
        _put(percentiles, AGGREGATED, s)
    counts: dict[str, dict[Key, float]] = {}
    for column in ("requests", "failures", "rps"):
        per = counts.setdefault(column, {})
        per.update((_key(s), s.value) for s in ask(column) if "name" in s.labels)
        for s in ask(f"run_{column}"):
            per[AGGREGATED] = s.value
    keys = set(buckets) | set(percentiles) | set(counts["requests"])
    records = [
        EndpointRecord(
            method=key[0],
            name=key[1],
            requests=_finite(counts["requests"].get(key)),
            failures=_finite(counts["failures"].get(key)),
            rps=_finite(counts["rps"].get(key)),
            buckets=buckets.get(key, {}) if key != AGGREGATED else {},
            percentiles=percentiles.get(key, {}),
        )
        for key in keys
    ]
    return RunData.from_records(window.run_id, records)


def fetch_profile(client: PrometheusClient, window: RunWindow) -> RunProfile:
    """The run's identity and load profile: ``locust_run_info``'s labels, the peak users and
    its duration."""
    ask = _asker(client, window)
    info: dict[str, str] = {}
    for s in ask("info"):
        info.update(s.labels)  # several series (a label changed mid-run): the last one read
    peak = [s.value for s in ask("peak_users") if math.isfinite(s.value)]
    duration = window.end - window.start if window.end > window.start else None
    return RunProfile.from_info(
        window.run_id, window.job, info, peak_users=max(peak) if peak else None, duration=duration
    )


def fetch_verdict(client: PrometheusClient, window: RunWindow, lookback: str) -> Verdict | None:
    """The verdict ``promgate check --push-results`` pushed for the run, None if none was."""
    expr = render(RECORD_QUERIES["verdict"], {**window.variables(), "window": lookback})
    codes = [s.value for s in client.query(expr) if math.isfinite(s.value)]
    return Verdict.from_code(max(codes)) if codes else None


def _key(s: Sample) -> Key:
    return (s.labels.get("method", ""), s.labels.get("name", ""))


def _put(out: dict[Key, dict[str, float]], key: Key, s: Sample) -> None:
    label = s.labels.get("percentile")
    if label and math.isfinite(s.value):
        out.setdefault(key, {})[label] = s.value


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def fetch_report(client: PrometheusClient, window: RunWindow) -> RunReport:
    """What the HTML report shows of the run besides the gate's figures: the endpoint and
    errors tables at the run's evaluation time (where the gate judges) and the charts' lines
    over its window. A failed query is a note in the report, not an error: the report still
    shows everything else."""
    notes: list[str] = []
    variables = window.variables()

    def instant(name: str) -> list[Sample]:
        try:
            return client.query(render(REPORT_QUERIES[name], variables), window.eval_time)
        except PrometheusError as exc:
            notes.append(f"query failed: {exc}")
            return []

    columns: dict[Key, dict[str, float]] = {}
    for column in queries.endpoint_table():
        for s in instant(f"endpoint_{column}"):
            columns.setdefault(_key(s), {})[column] = s.value
    errors = tuple(
        ErrorRow(*_key(s), s.labels.get("error", ""), s.value)
        for s in instant("errors")
        if math.isfinite(s.value) and s.value > 0
    )
    push = [s.value for s in instant("push_interval") if math.isfinite(s.value)]
    lines, rate_window = _lines(client, window, max(push) if push else 0.0, notes)
    return RunReport(
        endpoints=tuple(_endpoint_row(key, cols) for key, cols in columns.items()),
        errors=errors,
        lines=tuple(lines),
        rate_window=rate_window,
        notes=tuple(notes),
    )


def observe_run(client: PrometheusClient, window: RunWindow) -> GateResult:
    """A run as Prometheus shows it, without a verdict (``promgate report --run-id``): the
    figures every result carries, the profile and the report's data, and no checks. A failed
    query is a note, as in ``fetch_report``."""
    notes: list[str] = []
    variables = window.variables()

    def figure(build: Callable[[], str], scale: float) -> float | None:
        try:
            return summary_value(client.query(render(build(), variables), window.eval_time), scale)
        except PrometheusError as exc:
            notes.append(f"query failed: {exc}")
            return None

    summary = {name: figure(build, scale) for name, (build, scale) in SUMMARY_QUERIES.items()}
    try:
        profile: RunProfile | None = fetch_profile(client, window)
    except PrometheusError as exc:
        notes.append(f"query failed: {exc}")
        profile = None
    report = fetch_report(client, window)
    return GateResult(
        version=__version__,
        generated_at=time.time(),
        prometheus=client.shown_url,
        run=window,
        checks=[],
        summary=summary,
        profile=profile,
        report=dataclasses.replace(report, notes=(*notes, *report.notes)),
    )


def _endpoint_row(key: Key, cols: Mapping[str, float]) -> EndpointRow:
    figures = {name: _finite(value) for name, value in cols.items()}
    return EndpointRow(key[0], key[1], **figures)


def _lines(
    client: PrometheusClient, window: RunWindow, push: float, notes: list[str]
) -> tuple[list[SeriesLine], str]:
    """The charts' lines, and the sliding window of their rates."""
    start, end = window.start, max(window.end, window.start + 1)
    # Counters move once a push: points closer than a push interval, or windows holding only a
    # few pushes, see 1 or 2 pushes' worth by turns and saw-tooth. A step of one push interval
    # keeps every point at the same phase; fewer than ~4 scrapes per window makes rate() empty.
    step = max(1.0, math.ceil((end - start) / MAX_POINTS), round(push))
    rate_window = f"{math.ceil(max(4 * window.scrape_interval, 3 * push, 2 * step))}s"
    variables = {**window.variables(), "rate_window": rate_window}

    def fetch(name: str, step: float) -> list[list[tuple[float, float]]]:
        expr = render(REPORT_RANGE_QUERIES[name], variables)
        return [list(s.points) for s in client.query_range(expr, start, end, step)]

    def lines(panel: Panel, *names: tuple[str, str]) -> list[SeriesLine]:
        # Each expression sums over the run's series, so it yields one line named after it.
        out = []
        for label, name in names:
            try:
                out += [SeriesLine(panel, label, tuple(points)) for points in fetch(name, step)]
            except PrometheusError as exc:
                notes.append(f"chart query failed: {exc}")
        return out

    def per_push(panel: Panel, label: str, counter: str) -> list[SeriesLine]:
        # rate() over a counter that moves once a push is biased by the window's phase; the
        # counter's own steps divided by the Pushgateway's push times are exact.
        fine = max(window.scrape_interval, (end - start) / 10_000)  # Prometheus caps points
        try:
            values = {t: v for points in fetch(counter, fine) for t, v in points}
            pushed = {t: v for points in fetch("push_time", fine) for t, v in points}
        except PrometheusError as exc:
            notes.append(f"chart query failed: {exc}")
            return []
        return [SeriesLine(panel, label, tuple(per_push_rates(values, pushed, MAX_POINTS)))]

    return [
        *lines(Panel.USERS, ("users", "users")),
        *per_push(Panel.REQUESTS, "requests/s", "requests"),
        *per_push(Panel.FAILURES, "failures/s", "failures"),
        *lines(Panel.ERROR_RATIO, ("error rate", "error_ratio")),
        *lines(Panel.RESPONSE_TIME, *((f"p{q}", f"p{q}") for q in (50, 95, 99))),
    ], rate_window


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

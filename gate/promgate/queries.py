"""Canonical PromQL over the metric contract (docs/metrics.md).

Every expression the gate's presets, the Grafana dashboards and the Prometheus rules use is built
here, so a query is never copied by hand. Expressions are templates: ``$job`` and ``$run_id`` are
filled in by the gate (escaped) or by Grafana (dashboard variables); ``$window`` is a duration
covering the run (the gate's ``$run_duration``, Grafana's ``$__range``).

Whole-run figures read the *last* value of the run's series (``max_over_time`` for counters, which
only grow, ``last_over_time`` for gauges), never ``increase()``, which extrapolates and misses what
happened before the first scrape.
"""

from __future__ import annotations

__all__ = [
    "ANY_RUN",
    "REC_CPU",
    "REC_FAILURES",
    "REC_P95",
    "REC_P99",
    "REC_RPS",
    "REC_USERS",
    "RESULTS_JOB",
    "RUN",
    "RUN_LABELS",
    "SUT",
    "WINDOW",
    "alert_error_ratio",
    "alert_push_failures",
    "alert_recorded_above",
    "alert_run_stalled",
    "avg_response_time",
    "compare_endpoints",
    "duration_heatmap",
    "endpoint_buckets",
    "endpoint_label_values",
    "endpoint_percentiles",
    "endpoint_quantile",
    "endpoint_table",
    "error_ratio",
    "error_ratio_window",
    "errors_by_error",
    "failures_counter",
    "failures_per_second",
    "failures_total",
    "histogram_quantile_run",
    "histogram_quantile_window",
    "http_error_ratio",
    "http_quantile",
    "http_requests_per_second",
    "job_label_values",
    "latest_run",
    "live_endpoint_percentile",
    "live_error_ratio",
    "live_failures_per_second",
    "live_percentile",
    "live_requests_per_second",
    "loadgen_cpu",
    "loadgen_cpu_avg",
    "loadgen_cpu_max",
    "loadgen_memory",
    "loadgen_memory_max",
    "locust_quantile",
    "locust_rps",
    "max_response_time",
    "max_users",
    "node_cpu_percent",
    "node_memory_percent",
    "passing_runs",
    "peak_rps",
    "push_interval_seconds",
    "push_time",
    "recording_rules",
    "requests_counter",
    "requests_per_second",
    "requests_total",
    "response_bytes_total",
    "run_duration_seconds",
    "run_end",
    "run_end_ms",
    "run_ids",
    "run_ids_before",
    "run_info",
    "run_percentiles",
    "run_start",
    "run_start_ms",
    "run_timestamp_samples",
    "runs_table",
    "sut_job_label_values",
    "users",
    "users_by_class",
    "workers",
]

#: Label matchers of one run. Grafana and the gate both fill in ``$job`` and ``$run_id``.
RUN = 'job="$job", run_id="$run_id"'
#: A duration covering the whole run.
WINDOW = "$window"


def _sel(metric: str, sel: str, extra: str = "") -> str:
    matchers = ", ".join(part for part in (sel, extra) if part)
    return f"{metric}{{{matchers}}}"


def requests_total(sel: str = RUN, window: str = WINDOW, by: str = "") -> str:
    """Requests completed over the whole run (Locust's ``# reqs``)."""
    return f"sum{_by(by)}(max_over_time({_sel('locust_requests_total', sel)}[{window}]))"


def failures_total(sel: str = RUN, window: str = WINDOW, by: str = "") -> str:
    """Failed requests over the whole run (Locust's ``# fails``)."""
    return f"sum{_by(by)}(max_over_time({_sel('locust_request_failures_total', sel)}[{window}]))"


def response_bytes_total(sel: str = RUN, window: str = WINDOW, by: str = "") -> str:
    return f"sum{_by(by)}(max_over_time({_sel('locust_response_bytes_total', sel)}[{window}]))"


def error_ratio(sel: str = RUN, window: str = WINDOW, by: str = "") -> str:
    """Failures over requests for the whole run, as a ratio (Locust's percent / 100)."""
    return f"{failures_total(sel, window, by)} / {requests_total(sel, window, by)}"


def run_start(sel: str = RUN, window: str = WINDOW) -> str:
    return f"max(last_over_time({_sel('locust_run_start_timestamp_seconds', sel)}[{window}]))"


def run_end(sel: str = RUN, window: str = WINDOW) -> str:
    return f"max(last_over_time({_sel('locust_run_end_timestamp_seconds', sel)}[{window}]))"


def _last_request(sel: str, window: str) -> str:
    metric = _sel("locust_run_last_request_timestamp_seconds", sel)
    return f"max(last_over_time({metric}[{window}]))"


def run_duration_seconds(sel: str = RUN, window: str = WINDOW) -> str:
    """Seconds from the statistics' start to the last request, Locust's RPS denominator."""
    return f"({_last_request(sel, window)} - {run_start(sel, window)})"


def locust_rps(sel: str = RUN, window: str = WINDOW, by: str = "") -> str:
    """Whole-run requests per second exactly as Locust computes it (``total_rps``)."""
    if by:
        # A `by` sum keeps its labels; the scalar denominator applies to each of them.
        return f"{requests_total(sel, window, by)} / scalar{run_duration_seconds(sel, window)}"
    return f"{requests_total(sel, window)} / {run_duration_seconds(sel, window)}"


def locust_quantile(q: float | str, sel: str = RUN, window: str = WINDOW) -> str:
    """Locust's own whole-run percentile over all requests, as its summary prints it (seconds)."""
    metric = _sel("locust_run_response_time_percentile_seconds", sel, f'percentile="{_q(q)}"')
    return f"max(last_over_time({metric}[{window}]))"


def endpoint_quantile(q: float | str, sel: str = RUN, window: str = WINDOW) -> str:
    """Locust's own whole-run percentile per endpoint (labels method, name)."""
    metric = _sel("locust_response_time_percentile_seconds", sel, f'percentile="{_q(q)}"')
    return f"max by (method, name) (last_over_time({metric}[{window}]))"


def max_response_time(sel: str = RUN, window: str = WINDOW) -> str:
    return f"max(last_over_time({_sel('locust_run_response_time_max_seconds', sel)}[{window}]))"


def avg_response_time(sel: str = RUN, window: str = WINDOW, by: str = "") -> str:
    """Mean response time over the whole run (Locust's ``Avg``), from the histogram's sum/count."""
    total = _sel("locust_request_duration_seconds_sum", sel)
    count = _sel("locust_request_duration_seconds_count", sel)
    return (
        f"sum{_by(by)}(max_over_time({total}[{window}]))"
        f" / sum{_by(by)}(max_over_time({count}[{window}]))"
    )


def histogram_quantile_run(
    q: float | str, sel: str = RUN, window: str = WINDOW, by: str = ""
) -> str:
    """Whole-run quantile from the histogram: within one bucket of Locust's own percentile."""
    buckets = f"max_over_time({_sel('locust_request_duration_seconds_bucket', sel)}[{window}])"
    return _histogram_quantile(q, buckets, by)


def histogram_quantile_window(
    q: float | str, sel: str = RUN, rate_window: str = "$__rate_interval", by: str = ""
) -> str:
    """Quantile over a sliding window, for live panels and alerts."""
    buckets = f"rate({_sel('locust_request_duration_seconds_bucket', sel)}[{rate_window}])"
    return _histogram_quantile(q, buckets, by)


def requests_per_second(sel: str = RUN, rate_window: str = "$__rate_interval", by: str = "") -> str:
    """Live request rate."""
    return f"sum{_by(by)}(rate({_sel('locust_requests_total', sel)}[{rate_window}]))"


def failures_per_second(sel: str = RUN, rate_window: str = "$__rate_interval", by: str = "") -> str:
    return f"sum{_by(by)}(rate({_sel('locust_request_failures_total', sel)}[{rate_window}]))"


def live_requests_per_second(sel: str = RUN, by: str = "") -> str:
    """Locust's own current RPS (its web UI's figure: requests of about the last 10 s)."""
    return f"sum{_by(by)}({_sel('locust_current_requests_per_second', sel)})"


def live_failures_per_second(sel: str = RUN, by: str = "") -> str:
    """Locust's own current failures per second."""
    return f"sum{_by(by)}({_sel('locust_current_failures_per_second', sel)})"


def live_error_ratio(sel: str = RUN, by: str = "") -> str:
    """Locust's current failures/s over its current RPS (ratio)."""
    return f"{live_failures_per_second(sel, by)} / {live_requests_per_second(sel, by)}"


def live_percentile(q: float | str, sel: str = RUN, by: str = "") -> str:
    """Locust's own current-window percentile of all requests (about the last 10 s), seconds."""
    metric = _sel(
        "locust_run_current_response_time_percentile_seconds", sel, f'percentile="{_q(q)}"'
    )
    return f"max{_by(by)}({metric})"


def live_endpoint_percentile(q: float | str, sel: str = RUN) -> str:
    """Locust's own current-window percentile per endpoint (labels method, name), seconds."""
    metric = _sel("locust_current_response_time_percentile_seconds", sel, f'percentile="{_q(q)}"')
    return f"max by (method, name) ({metric})"


def errors_by_error(sel: str = RUN, window: str = WINDOW) -> str:
    """Failures per normalized error text over the whole run."""
    metric = _sel("locust_errors_total", sel)
    return f"sum by (method, name, error) (max_over_time({metric}[{window}]))"


def users(sel: str = RUN) -> str:
    return f"sum({_sel('locust_users', sel)})"


def max_users(sel: str = RUN, window: str = WINDOW, step: str = "1s") -> str:
    """Peak total users over the run (a subquery, since users per class peak at different times)."""
    return f"max_over_time(sum({_sel('locust_users', sel)})[{window}:{step}])"


def workers(sel: str = RUN) -> str:
    return f"sum by (state) ({_sel('locust_workers', sel)})"


def loadgen_cpu_avg(sel: str = RUN, window: str = WINDOW) -> str:
    """Mean CPU percent of the busiest load-generator process over the run."""
    return f"max(avg_over_time({_sel('locust_loadgen_cpu_percent', sel)}[{window}]))"


def loadgen_cpu_max(sel: str = RUN, window: str = WINDOW) -> str:
    return f"max(max_over_time({_sel('locust_loadgen_cpu_percent', sel)}[{window}]))"


def loadgen_memory_max(sel: str = RUN, window: str = WINDOW) -> str:
    return f"max(max_over_time({_sel('locust_loadgen_memory_bytes', sel)}[{window}]))"


def node_cpu_percent(node_sel: str = "", window: str = WINDOW) -> str:
    """Host CPU use of the system under test from node_exporter, averaged over the window."""
    idle = _sel("node_cpu_seconds_total", node_sel, 'mode="idle"')
    return f"100 * (1 - avg(rate({idle}[{window}])))"


def node_memory_percent(node_sel: str = "", window: str = WINDOW) -> str:
    """Host memory use of the system under test from node_exporter, averaged over the window."""
    avail = f"avg_over_time({_sel('node_memory_MemAvailable_bytes', node_sel)}[{window}])"
    total = f"avg_over_time({_sel('node_memory_MemTotal_bytes', node_sel)}[{window}])"
    return f"100 * (1 - avg({avail}) / avg({total}))"


def endpoint_table(sel: str = RUN, window: str = WINDOW) -> dict[str, str]:
    """The per-endpoint columns of Locust's summary, each by (method, name)."""
    by = "method, name"
    return {
        "requests": requests_total(sel, window, by),
        "failures": failures_total(sel, window, by),
        "error_ratio": error_ratio(sel, window, by),
        "avg": avg_response_time(sel, window, by),
        "p50": endpoint_quantile(0.5, sel, window),
        "p95": endpoint_quantile(0.95, sel, window),
        "p99": endpoint_quantile(0.99, sel, window),
        "rps": locust_rps(sel, window, by),
    }


# -- dashboards and rules ---------------------------------------------------------------------
# Grafana panels, recording rules and alerts. Live expressions take a ``rate_window``
# (``$__rate_interval`` in Grafana, a fixed duration in rules); per-run tables group by
# ``run_id`` so one query returns a row per run.

#: Labels that identify a run; recording rules and alerts aggregate by them.
RUN_LABELS = "job, run_id"
#: Matchers of every run's series (rules see all runs at once).
ANY_RUN = 'run_id!=""'


def error_ratio_window(sel: str = RUN, rate_window: str = "$__rate_interval", by: str = "") -> str:
    """Live failures over requests in a sliding window (ratio)."""
    return (
        f"{failures_per_second(sel, rate_window, by)} / {requests_per_second(sel, rate_window, by)}"
    )


def peak_rps(sel: str = RUN, window: str = WINDOW, step: str = "") -> str:
    """Locust's highest current RPS during the window (a subquery over the live figure)."""
    return f"max_over_time({live_requests_per_second(sel)}[{window}:{step}])"


def duration_heatmap(sel: str = RUN, rate_window: str = "$__rate_interval") -> str:
    """Requests per histogram bucket and interval, for a heatmap (format heatmap, legend {{le}})."""
    metric = _sel("locust_request_duration_seconds_bucket", sel)
    return f"sum by (le) (increase({metric}[{rate_window}]))"


def loadgen_cpu(sel: str = RUN) -> str:
    """CPU percent of each load-generator process (label worker)."""
    return f"max by (worker) ({_sel('locust_loadgen_cpu_percent', sel)})"


def loadgen_memory(sel: str = RUN) -> str:
    return f"max by (worker) ({_sel('locust_loadgen_memory_bytes', sel)})"


def users_by_class(sel: str = RUN) -> str:
    return f"sum by (user_class) ({_sel('locust_users', sel)})"


def run_start_ms(sel: str = RUN) -> str:
    """Run start in milliseconds: a Grafana annotation with "use value as timestamp"."""
    return f"max({_sel('locust_run_start_timestamp_seconds', sel)}) * 1000"


def run_end_ms(sel: str = RUN) -> str:
    return f"max({_sel('locust_run_end_timestamp_seconds', sel)}) * 1000"


def run_ids(sel: str = 'job="$job"', window: str = WINDOW) -> str:
    """One series per run, valued by its start time; sort_desc lists the newest first."""
    metric = _sel("locust_run_start_timestamp_seconds", sel)
    return f"sort_desc(max by (run_id) (last_over_time({metric}[{window}])))"


def run_ids_before(anchor: str, sel: str = 'job="$job"', window: str = WINDOW) -> str:
    """Like ``run_ids``, only runs that started before the run ``anchor`` selects: the first is
    the run just before it (the Runs dashboard's default run B)."""
    metric = "locust_run_start_timestamp_seconds"
    starts = f"max by (run_id) (last_over_time({_sel(metric, sel)}[{window}]))"
    anchor_start = f"scalar(max(last_over_time({_sel(metric, anchor)}[{window}])))"
    return f"sort_desc({starts} < {anchor_start})"


def runs_table(sel: str = 'job="$job"', window: str = WINDOW) -> dict[str, str]:
    """One row per run (label run_id): the Runs dashboard's columns.

    ``link_from``/``link_to`` are the run's own time range in milliseconds (a margin either side),
    for the link to the run dashboard. ``verdict`` is the gate's result when it was pushed.
    """
    by = "run_id"

    def last(metric: str, extra: str = "") -> str:
        return f"max by ({by}) (last_over_time({_sel(metric, sel, extra)}[{window}]))"

    start = last("locust_run_start_timestamp_seconds")
    last_request = last("locust_run_last_request_timestamp_seconds")
    requests = requests_total(sel, window, by)
    duration = f"({last_request} - {start})"
    # The recorded per-run sum (deploy/prometheus/rules): a subquery over days is too heavy.
    peak_users = f"max by ({by}) (max_over_time({_sel(REC_USERS, sel)}[{window}]))"
    verdict = f"max by ({by}) (last_over_time(promgate_verdict[{window}]))"
    return {
        "start": f"{start} * 1000",
        "duration": duration,
        "requests": requests,
        "error_ratio": error_ratio(sel, window, by),
        "p95": last("locust_run_response_time_percentile_seconds", 'percentile="0.95"'),
        "peak_users": peak_users,
        "rps": f"{requests} / {duration}",
        # Only runs of the selected job: the gate's group has job="promgate".
        "verdict": f"{verdict} and on ({by}) {start}",
        "link_from": f"({start} - 30) * 1000",
        "link_to": f"({last_request} + 60) * 1000",
    }


def compare_endpoints(sel_a: str, sel_b: str, window: str = WINDOW) -> dict[str, str]:
    """Run A vs run B per endpoint (labels method, name): values and % change from A to B."""
    by = "method, name"
    pairs = {
        "requests": (requests_total(sel_a, window, by), requests_total(sel_b, window, by)),
        "error_ratio": (error_ratio(sel_a, window, by), error_ratio(sel_b, window, by)),
        "avg": (avg_response_time(sel_a, window, by), avg_response_time(sel_b, window, by)),
        "p95": (endpoint_quantile(0.95, sel_a, window), endpoint_quantile(0.95, sel_b, window)),
        "p99": (endpoint_quantile(0.99, sel_a, window), endpoint_quantile(0.99, sel_b, window)),
    }
    out: dict[str, str] = {}
    for key, (a, b) in pairs.items():
        out[f"{key}_a"] = a
        out[f"{key}_b"] = b
        out[f"{key}_change"] = f"100 * (({b}) - ({a})) / ({a})"
    return out


# Server-side view of the system under test (http_requests_total / http_request_duration_seconds
# with labels method, route, status, as examples/demo_api.py exposes them).
SUT = 'job="$sut_job"'


def http_requests_per_second(
    sel: str = SUT, rate_window: str = "$__rate_interval", by: str = "method, route"
) -> str:
    return f"sum{_by(by)}(rate({_sel('http_requests_total', sel)}[{rate_window}]))"


def http_error_ratio(
    sel: str = SUT, rate_window: str = "$__rate_interval", by: str = "method, route"
) -> str:
    """Server-side 5xx responses over all responses, in a sliding window."""
    errors = http_requests_per_second(_join(sel, 'status=~"5.."'), rate_window, by)
    return f"{errors} / {http_requests_per_second(sel, rate_window, by)}"


def http_quantile(
    q: float | str, sel: str = SUT, rate_window: str = "$__rate_interval", by: str = ""
) -> str:
    buckets = f"rate({_sel('http_request_duration_seconds_bucket', sel)}[{rate_window}])"
    return _histogram_quantile(q, buckets, by)


# Recording rules: live per-run series that dashboards and alerts read instead of re-computing.
# The live ones are Locust's own current figures (its ~10 s window), as its web UI shows them.
REC_RPS = "job_run_id:locust_current_requests_per_second:sum"
REC_FAILURES = "job_run_id:locust_current_failures_per_second:sum"
REC_P95 = "job_run_id:locust_current_response_time_seconds:p95"
REC_P99 = "job_run_id:locust_current_response_time_seconds:p99"
REC_USERS = "job_run_id:locust_users:sum"
REC_CPU = "job_run_id:locust_loadgen_cpu_percent:max"


def recording_rules() -> dict[str, str]:
    """Record name -> expression, over every run (no ``$`` placeholders)."""
    return {
        REC_RPS: live_requests_per_second(ANY_RUN, RUN_LABELS),
        REC_FAILURES: live_failures_per_second(ANY_RUN, RUN_LABELS),
        REC_P95: live_percentile(0.95, ANY_RUN, RUN_LABELS),
        REC_P99: live_percentile(0.99, ANY_RUN, RUN_LABELS),
        REC_USERS: f"sum by ({RUN_LABELS}) ({_sel('locust_users', ANY_RUN)})",
        REC_CPU: f"max by ({RUN_LABELS}) ({_sel('locust_loadgen_cpu_percent', ANY_RUN)})",
    }


def alert_error_ratio(threshold: float) -> str:
    return _while_running(f"{REC_FAILURES} / {REC_RPS} > {threshold}")


def alert_recorded_above(record: str, threshold: float) -> str:
    return _while_running(f"{record} > {threshold}")


def _while_running(expr: str) -> str:
    """Only runs without an end timestamp: a finished run kept in the Pushgateway keeps its
    last live figures, which describe the past."""
    return f"({expr}) unless on ({RUN_LABELS}) locust_run_end_timestamp_seconds"


def alert_run_stalled(seconds: float) -> str:
    """A run whose group stopped being pushed without its final push (no end timestamp).

    ``push_time_seconds`` is the Pushgateway's own per-group timestamp; a finished run has
    ``locust_run_end_timestamp_seconds``, and a deleted group has no series at all.
    """
    age = f"time() - max by ({RUN_LABELS}) (push_time_seconds)"
    return (
        f"({age} > {seconds:g})"
        f" and on ({RUN_LABELS}) locust_run_start_timestamp_seconds"
        f" unless on ({RUN_LABELS}) locust_run_end_timestamp_seconds"
    )


def alert_push_failures(window: str = "5m") -> str:
    return f"sum by ({RUN_LABELS}) (increase(locust_exporter_push_failures_total[{window}])) > 0"


# -- gate additions --


def latest_run(job_sel: str, lookback: str) -> str:
    """The newest run of a job (by its statistics' start), as one sample labelled ``run_id``."""
    metric = _sel("locust_run_start_timestamp_seconds", job_sel)
    return f"topk(1, max by (run_id) (last_over_time({metric}[{lookback}])))"


def push_interval_seconds(sel: str = RUN, window: str = WINDOW) -> str:
    """The exporter's mean push interval over the run, from the Pushgateway's own
    ``push_time_seconds``: counters only move once a push, so a rate window must span several."""
    push = _sel("push_time_seconds", sel)
    return (
        f"(max(max_over_time({push}[{window}])) - min(min_over_time({push}[{window}])))"
        f" / max(changes({push}[{window}]))"
    )


def requests_counter(sel: str = RUN) -> str:
    """The run's request counter as pushed (one series), for exact per-push rates."""
    return f"sum({_sel('locust_requests_total', sel)})"


def failures_counter(sel: str = RUN) -> str:
    return f"sum({_sel('locust_request_failures_total', sel)})"


def push_time(sel: str = RUN) -> str:
    """When the Pushgateway received the push each scrape saw (its ``push_time_seconds``)."""
    return f"max({_sel('push_time_seconds', sel)})"


def run_timestamp_samples(sel: str, reach: str) -> str:
    """The raw samples of a run's start and end timestamps (a range vector): when each scrape
    saw them, so the gate can tell that the final push has been scraped."""
    return f'{{__name__=~"locust_run_(start|end)_timestamp_seconds", {sel}}}[{reach}]'


# -- regression against history (core/history.py, core/regression.py) --
#: The Pushgateway job ``promgate check --push-results`` pushes the verdicts under.
RESULTS_JOB = "promgate"


def endpoint_buckets(sel: str = RUN, window: str = WINDOW) -> str:
    """Whole-run histogram bucket counts per endpoint (labels method, name, le)."""
    metric = _sel("locust_request_duration_seconds_bucket", sel)
    return f"sum by (method, name, le) (max_over_time({metric}[{window}]))"


def endpoint_percentiles(qs: str = "0.5|0.95", sel: str = RUN, window: str = WINDOW) -> str:
    """Locust's own whole-run percentiles ``qs`` (a regex of label values) per endpoint."""
    metric = _sel("locust_response_time_percentile_seconds", sel, f'percentile=~"{qs}"')
    return f"max by (method, name, percentile) (last_over_time({metric}[{window}]))"


def run_percentiles(qs: str = "0.5|0.95", sel: str = RUN, window: str = WINDOW) -> str:
    """Locust's own whole-run percentiles ``qs`` over all requests (label percentile)."""
    metric = _sel("locust_run_response_time_percentile_seconds", sel, f'percentile=~"{qs}"')
    return f"max by (percentile) (last_over_time({metric}[{window}]))"


def run_info(sel: str = RUN, window: str = WINDOW) -> str:
    """The run's description labels (testplan, environment) from ``locust_run_info``."""
    metric = _sel("locust_run_info", sel)
    return f"max by (testplan, environment) (last_over_time({metric}[{window}]))"


def passing_runs(job_sel: str, info_sel: str, lookback: str) -> str:
    """Runs of a job whose last pushed gate verdict was pass or warning (``<= 1``), valued by
    their start, newest first. ``info_sel`` narrows them by ``locust_run_info`` labels
    (testplan, environment); empty for no narrowing."""
    by = "run_id"
    starts = _sel("locust_run_start_timestamp_seconds", job_sel)
    verdict = _sel("promgate_verdict", f'job="{RESULTS_JOB}"')
    expr = (
        f"max by ({by}) (last_over_time({starts}[{lookback}]))"
        f" and on ({by}) (max by ({by}) (last_over_time({verdict}[{lookback}])) <= 1)"
    )
    if info_sel:
        info = _sel("locust_run_info", _join(job_sel, info_sel))
        expr += f" and on ({by}) max by ({by}) (last_over_time({info}[{lookback}]))"
    return f"sort_desc({expr})"


# -- Grafana variable queries --
# Grafana's ``label_values(selector, label)`` helper (not PromQL itself): the selector is ours.


def job_label_values() -> str:
    """The jobs that have runs, for a ``$job`` picker."""
    return _label_values("locust_run_start_timestamp_seconds", "job")


def endpoint_label_values(sel: str = RUN) -> str:
    """The endpoint names (label ``name``) of one run, for an ``$endpoint`` picker."""
    return _label_values(_sel("locust_requests_total", sel), "name")


def sut_job_label_values() -> str:
    """The scrape jobs exposing the system under test's ``http_requests_total``."""
    return _label_values("http_requests_total", "job")


def _label_values(selector: str, label: str) -> str:
    return f"label_values({selector}, {label})"


def _join(*parts: str) -> str:
    return ", ".join(part for part in parts if part)


def _by(by: str) -> str:
    return f" by ({by}) " if by else ""


def _histogram_quantile(q: float | str, buckets: str, by: str) -> str:
    return f"histogram_quantile({_q(q)}, sum by (le{_comma(by)}) ({buckets}))"


def _comma(by: str) -> str:
    return f", {by}" if by else ""


def _q(q: float | str) -> str:
    return str(float(q)) if not isinstance(q, str) else q

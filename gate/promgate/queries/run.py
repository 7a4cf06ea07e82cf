"""Whole-run figures: what the gate's presets, the report and the result summary read (the last
value of the run's series), plus the window and push-timing queries the gate needs to find a run."""

from __future__ import annotations

from ._expr import RUN, WINDOW, _by, _histogram_quantile, _q, _sel

__all__ = [
    "avg_response_time",
    "endpoint_quantile",
    "endpoint_table",
    "error_ratio",
    "errors_by_error",
    "failures_counter",
    "failures_total",
    "histogram_quantile_run",
    "latest_run",
    "loadgen_cpu_avg",
    "loadgen_cpu_max",
    "loadgen_memory_max",
    "locust_quantile",
    "locust_rps",
    "max_response_time",
    "max_users",
    "node_cpu_percent",
    "node_memory_percent",
    "push_interval_seconds",
    "push_time",
    "requests_counter",
    "requests_total",
    "response_bytes_total",
    "run_duration_seconds",
    "run_end",
    "run_start",
    "run_timestamp_samples",
]


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


def errors_by_error(sel: str = RUN, window: str = WINDOW) -> str:
    """Failures per normalized error text over the whole run."""
    metric = _sel("locust_errors_total", sel)
    return f"sum by (method, name, error) (max_over_time({metric}[{window}]))"


def max_users(sel: str = RUN, window: str = WINDOW, step: str = "1s") -> str:
    """Peak total users over the run (a subquery, since users per class peak at different times)."""
    return f"max_over_time(sum({_sel('locust_users', sel)})[{window}:{step}])"


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

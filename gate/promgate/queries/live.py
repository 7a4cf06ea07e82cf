"""Live figures over a sliding window or Locust's own current window: the dashboards' live
panels, the recording rules' inputs, load-generator and system-under-test series.

Sliding-window expressions take a ``rate_window``: ``$__rate_interval`` in Grafana, a fixed
duration in rules."""

from __future__ import annotations

from ._expr import RUN, SUT, WINDOW, _by, _histogram_quantile, _join, _q, _sel

__all__ = [
    "duration_heatmap",
    "error_ratio_window",
    "failures_per_second",
    "histogram_quantile_window",
    "http_error_ratio",
    "http_quantile",
    "http_requests_per_second",
    "live_endpoint_percentile",
    "live_error_ratio",
    "live_failures_per_second",
    "live_percentile",
    "live_requests_per_second",
    "loadgen_cpu",
    "loadgen_memory",
    "peak_rps",
    "requests_per_second",
    "users",
    "users_by_class",
    "workers",
]


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


def users(sel: str = RUN) -> str:
    return f"sum({_sel('locust_users', sel)})"


def workers(sel: str = RUN) -> str:
    return f"sum by (state) ({_sel('locust_workers', sel)})"


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

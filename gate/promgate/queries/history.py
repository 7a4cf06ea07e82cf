"""Regression against history: the per-endpoint figures of past runs and the runs whose
pushed gate verdict passed (core/regression/baseline_history.py,
core/regression/latency_regression.py)."""

from __future__ import annotations

from ._expr import RUN, WINDOW, _join, _sel

__all__ = [
    "RESULTS_JOB",
    "endpoint_buckets",
    "endpoint_percentiles",
    "passing_runs",
    "run_info",
    "run_info_labels",
    "run_markers",
    "run_percentiles",
    "run_verdict",
]

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


def run_info_labels(sel: str = RUN, window: str = WINDOW) -> str:
    """Every label of the run's ``locust_run_info`` (its identity and load profile)."""
    return f"last_over_time({_sel('locust_run_info', sel)}[{window}])"


def run_verdict(window: str = WINDOW) -> str:
    """The run's last gate verdict pushed by ``promgate check --push-results`` (0 pass,
    1 warning, 2 fail); empty when none was pushed."""
    metric = _sel("promgate_verdict", f'job="{RESULTS_JOB}", run_id="$run_id"')
    return f"max(last_over_time({metric}[{window}]))"


def run_markers(lookback: str) -> str:
    """Runs pinned or excluded by ``promgate runs pin|exclude`` (labels run_id, marker): the
    marker's last pushed value, 1 set, 0 cleared."""
    metric = _sel("promgate_run_marker", f'job="{RESULTS_JOB}"')
    return f"max by (run_id, marker) (last_over_time({metric}[{lookback}]))"


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

"""Queries only the Grafana dashboards use: run pickers (template variables), the Runs table,
run A vs run B, annotations, and ``label_values`` pickers.

Per-run tables group by ``run_id`` so one query returns a row per run. The ``*_label_values``
pickers are Grafana's ``label_values(selector, label)`` helper (not PromQL itself); the selector
is ours."""

from __future__ import annotations

from ._expr import RUN, WINDOW, _label_values, _sel
from .rules import REC_USERS
from .run import avg_response_time, endpoint_quantile, error_ratio, requests_total

__all__ = [
    "compare_endpoints",
    "endpoint_label_values",
    "job_label_values",
    "run_end_ms",
    "run_ids",
    "run_ids_before",
    "run_start_ms",
    "runs_table",
    "steady_region",
    "sut_job_label_values",
]


def run_start_ms(sel: str = RUN) -> str:
    """Run start in milliseconds: a Grafana annotation with "use value as timestamp"."""
    return f"max({_sel('locust_run_start_timestamp_seconds', sel)}) * 1000"


def run_end_ms(sel: str = RUN) -> str:
    return f"max({_sel('locust_run_end_timestamp_seconds', sel)}) * 1000"


def steady_region(sel: str = RUN) -> str:
    """Non-empty from the moment all users ran until the final push: a Grafana annotation
    without "use value as timestamp" shades those seconds (the gate's ``window: steady``)."""
    steady = _sel("locust_run_steady_timestamp_seconds", sel)
    return f"max({steady}) unless max({_sel('locust_run_end_timestamp_seconds', sel)})"


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


def job_label_values() -> str:
    """The jobs that have runs, for a ``$job`` picker."""
    return _label_values("locust_run_start_timestamp_seconds", "job")


def endpoint_label_values(sel: str = RUN) -> str:
    """The endpoint names (label ``name``) of one run, for an ``$endpoint`` picker."""
    return _label_values(_sel("locust_requests_total", sel), "name")


def sut_job_label_values() -> str:
    """The scrape jobs exposing the system under test's ``http_requests_total``."""
    return _label_values("http_requests_total", "job")

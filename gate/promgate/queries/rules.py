"""Prometheus recording rules and alert expressions (deploy/prometheus/generate_rules.py), over
every run at once (no ``$`` placeholders)."""

from __future__ import annotations

from ._expr import ANY_RUN, RUN_LABELS, _sel
from .live import live_failures_per_second, live_percentile, live_requests_per_second

__all__ = [
    "REC_CPU",
    "REC_FAILURES",
    "REC_P95",
    "REC_P99",
    "REC_RPS",
    "REC_USERS",
    "alert_error_ratio",
    "alert_push_failures",
    "alert_recorded_above",
    "alert_run_stalled",
    "recording_rules",
]

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

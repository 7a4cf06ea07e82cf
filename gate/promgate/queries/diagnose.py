"""Why a check's query returned nothing: the few cheap queries the gate asks before it says so.

Each takes a vector selector as text (``metric{job="j", run_id="r"}``, already escaped) and the
ranges to look over. Every one selects by metric name or by the run's own labels, and
``last_over_time`` keeps one sample per series, so an answer is at most a few hundred series.
"""

from __future__ import annotations

from ._expr import _sel

__all__ = [
    "diagnose_label_values",
    "diagnose_last_seen",
    "diagnose_metric_names",
    "diagnose_push_failures",
    "diagnose_run_jobs",
    "diagnose_series_count",
]


def diagnose_series_count(selector: str, window: str) -> str:
    """How many series ``selector`` has with a sample in ``window`` (empty: none)."""
    return f"count(last_over_time({selector}[{window}]))"


def diagnose_label_values(selector: str, label: str, window: str) -> str:
    """One series per value of ``label`` among ``selector``'s series in ``window``."""
    return f"group by ({label}) (last_over_time({selector}[{window}]))"


def diagnose_metric_names(selector: str, window: str) -> str:
    """One series per metric name among ``selector``'s series (a run's labels) in ``window``."""
    return f"group by (__name__) (last_over_time({selector}[{window}]))"


def diagnose_run_jobs(run_matcher: str, lookback: str) -> str:
    """The jobs a run id was pushed under within ``lookback`` (its start timestamp series)."""
    return (
        "group by (job) (last_over_time("
        f"{_sel('locust_run_start_timestamp_seconds', run_matcher)}[{lookback}]))"
    )


def diagnose_last_seen(selector: str, lookback: str, step: str) -> str:
    """The end of the last ``step`` within ``lookback`` in which ``selector`` had a sample: a
    subquery of contiguous steps, so no sample falls between two of them."""
    return f"max_over_time(timestamp(count(last_over_time({selector}[{step}])))[{lookback}:{step}])"


def diagnose_push_failures(run_sel: str, window: str) -> str:
    """The exporter's failed pushes (after retries) for the run, as its last push counted them."""
    return f"max(max_over_time({_sel('locust_exporter_push_failures_total', run_sel)}[{window}]))"

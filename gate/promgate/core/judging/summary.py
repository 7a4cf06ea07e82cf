"""The whole-run figures every result carries (key lines, the analysis JSON, the HTML report's
cards): one query per figure from ``promgate.queries`` and one way to reduce its answer."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from ... import queries
from ...prometheus.types import Sample

__all__ = ["SUMMARY_QUERIES", "summary_value"]

#: figure -> (query builder, scale to the figure's unit)
SUMMARY_QUERIES: dict[str, tuple[Callable[[], str], float]] = {
    "requests": (queries.requests_total, 1.0),
    "failures": (queries.failures_total, 1.0),
    "error_rate_percent": (queries.error_ratio, 100.0),
    "rps": (queries.locust_rps, 1.0),
    "p50": (lambda: queries.locust_quantile(0.5), 1.0),
    "p95": (lambda: queries.locust_quantile(0.95), 1.0),
    "p99": (lambda: queries.locust_quantile(0.99), 1.0),
    "avg_response_time": (queries.avg_response_time, 1.0),
    "cpu_usage_avg": (queries.node_cpu_percent, 1.0),
    "memory_usage_avg": (queries.node_memory_percent, 1.0),
}


def summary_value(samples: Sequence[Sample], scale: float) -> float | None:
    """The figure from a query's answer: the largest finite value (a run-wide query yields one
    series; more than one means a relabelled duplicate, and the larger never flatters)."""
    finite = [s.value for s in samples if math.isfinite(s.value)]
    return max(finite) * scale if finite else None

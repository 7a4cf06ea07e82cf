"""Reading one run's per-endpoint figures and load profile from Prometheus (the I/O behind a
result file's ``endpoints`` and ``profile``, and behind ``latency_regression``)."""

from __future__ import annotations

import math
from collections.abc import Callable

from .. import queries
from ..prometheus.client import PrometheusClient
from ..prometheus.templating import render
from ..prometheus.types import RunWindow, Sample
from .profile import RunProfile
from .result import Verdict
from .rundata import AGGREGATED, EndpointRecord, Key, RunData

__all__ = ["RECORD_QUERIES", "fetch_profile", "fetch_run", "fetch_verdict"]

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

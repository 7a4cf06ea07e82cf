"""Runs drawn for the ``latency_regression`` tests: log-normal latencies (median 30 ms) on the
exporter's bucket bounds with Locust's percentiles, a history of four runs, and the check's spec."""

from __future__ import annotations

import math
import random

from promgate import parse_config
from promgate.core.model.rundata import AGGREGATED, RunData
from promgate.core.stats.distribution import Buckets

BOUNDS = (0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, math.inf)
BUSY, SPARSE = ("GET", "/busy"), ("GET", "/sparse")
CONFIG = """
baseline: {history: 4}
checks:
  - name: latency
    preset: latency_regression
    critical: "> +10%"
"""


def spec(text: str = CONFIG):  # type: ignore[no-untyped-def]
    return parse_config(text, "t.yaml", env={}).checks[0]


def sample_run(
    run_id: str, rng: random.Random, n: dict[tuple[str, str], int], scale: dict[str, float]
) -> RunData:
    """A run of log-normal latencies (median 30 ms), each endpoint times ``scale[name]``."""
    buckets: dict[tuple[str, str], Buckets] = {}
    percentiles: dict[tuple[str, str], dict[str, float]] = {}
    everything: list[float] = []
    for key, count in n.items():
        values = sorted(
            0.030 * scale.get(key[1], 1.0) * math.exp(rng.gauss(0, 0.3)) for _ in range(count)
        )
        everything += values
        buckets[key] = _bucket(values)
        percentiles[key] = _locust(values)
    buckets[AGGREGATED] = Buckets.pooled(list(buckets.values()))
    percentiles[AGGREGATED] = _locust(sorted(everything))
    return RunData(run_id, buckets, percentiles)


def _bucket(values: list[float]) -> Buckets:
    return Buckets.from_cumulative((b, sum(1 for v in values if v <= b)) for b in BOUNDS)


def _locust(values: list[float]) -> dict[str, float]:
    # Locust's percentile: a value on its 1 ms grid.
    def q(p: float) -> float:
        return round(values[min(len(values) - 1, int(p * len(values)))] * 1000) / 1000

    return {"median": q(0.5), "p95": q(0.95)}


def history(rng: random.Random, n: dict[tuple[str, str], int]) -> list[RunData]:
    return [
        sample_run(f"h{i}", rng, n, {"/busy": f, "/sparse": f})
        for i, f in enumerate((0.97, 1.0, 1.02, 1.04))
    ]


def by_name(result):  # type: ignore[no-untyped-def]
    return {s.labels["name"]: s for s in result.series}

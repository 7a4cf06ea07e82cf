"""The acceptance of issue 13 as a simulation, many times over: the same judge on runs drawn the way
the acceptance describes the system (log-normal latency per endpoint, medians 10-40 ms, a random
per-run factor of ±5 %, traffic 70/25/5 %), without the test machine's own noise.

The real-stack test (tests/integration/test_regression.py) runs the protocol once against real
Locust and Prometheus; this one runs it 20 times with fixed seeds, so a rule that fails falsely
once in fifty judgements shows here.
"""

from __future__ import annotations

import math
import random

from promgate import parse_config
from promgate.core.model.result import Verdict
from promgate.core.regression.latency_regression import AGGREGATED, RunData, judge_regression
from promgate.core.stats.distribution import Buckets

#: the exporter's bounds (seconds)
BOUNDS = (
    0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75,
    1.0, 1.5, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 30.0, 60.0, math.inf,
)  # fmt: skip
#: endpoint -> (median seconds, share of the traffic)
ENDPOINTS = {"/students": (0.035, 0.70), "/courses": (0.025, 0.25), "/enrollments": (0.030, 0.05)}
SIGMA = 0.35
#: requests per run: what 8 users reach in 6 s against these latencies on a quiet machine
REQUESTS = 1600
SPEC = parse_config(
    "checks:\n  - {name: latency, preset: latency_regression, critical: '> +10%'}\n",
    "t.yaml",
    env={},
).checks[0]


def locust_run(rng: random.Random, slow: dict[str, float]) -> RunData:
    factor = rng.uniform(0.95, 1.05)
    buckets: dict[tuple[str, str], Buckets] = {}
    percentiles: dict[tuple[str, str], dict[str, float]] = {}
    everything: list[int] = []
    for name, (median, share) in ENDPOINTS.items():
        n = sum(1 for _ in range(REQUESTS) if rng.random() < share)
        scale = median * factor * slow.get(name, 1.0)
        # Locust rounds to whole milliseconds under 100 ms (10 ms steps above).
        ms = sorted(_round(scale * math.exp(rng.gauss(0, SIGMA)) * 1000) for _ in range(n))
        everything += ms
        key = ("GET", name)
        buckets[key] = _buckets(ms)
        percentiles[key] = _percentiles(ms)
    buckets[AGGREGATED] = Buckets.pooled(list(buckets.values()))
    percentiles[AGGREGATED] = _percentiles(sorted(everything))
    return RunData("r", buckets, percentiles)


def _round(ms: float) -> int:
    return round(ms) if ms < 100 else round(ms, -1) if ms < 1000 else round(ms, -2)


def _buckets(ms: list[int]) -> Buckets:
    pairs, i = [], 0
    for bound in BOUNDS:
        while i < len(ms) and ms[i] <= bound * 1000:
            i += 1
        pairs.append((bound, float(i)))
    return Buckets.from_cumulative(pairs)


def _percentiles(ms: list[int]) -> dict[str, float]:
    # Locust's calculate_response_time_percentile: the value at rank int(n * q) from the top.
    def q(p: float) -> float:
        n = len(ms)
        return ms[max(0, min(n - 1, n - (n - int(n * p))))] / 1000

    return {"median": q(0.5), "p95": q(0.95)}


def verdicts(run: RunData, history: list[RunData]) -> dict[str, tuple[Verdict, str]]:
    result = judge_regression(SPEC, "q", run, history, history=True, confidence=0.99)
    return {s.labels["name"]: (s.verdict, s.reason) for s in result.series}


def test_the_acceptance_protocol_thirty_times() -> None:
    """Rates over 30 repetitions (fixed seeds) of the protocol: 90 unchanged runs, 90 with the
    busiest endpoint 20 % slower, 90 with the 5 % endpoint 25 % slower.

    The per-run factor alone moves an unchanged endpoint by up to ±10 % against the history
    median, the very size of the condition, so no rule is perfect at this noise; what the rule
    must keep rare is a false failure, and it must never pass a slowed endpoint it cannot judge.
    """
    bad = {"unchanged": 0, "busiest": 0}
    sparse = {"found": 0, "too few": 0}
    for trial in range(30):
        rng = random.Random(1000 + trial)
        history = [locust_run(rng, {}) for _ in range(4)]
        for _ in range(3):
            got = verdicts(locust_run(rng, {}), history)
            bad["unchanged"] += any(v is Verdict.FAIL for v, _ in got.values())
        for _ in range(3):
            got = verdicts(locust_run(rng, {"/students": 1.2}), history)
            failing = {n for n, (v, _) in got.items() if v is Verdict.FAIL} - {"Aggregated"}
            bad["busiest"] += failing != {"/students"}
        for _ in range(3):
            got = verdicts(locust_run(rng, {"/enrollments": 1.25}), history)
            verdict, reason = got["/enrollments"]
            assert verdict is not Verdict.PASS, (trial, reason)
            if verdict is Verdict.FAIL:
                sparse["found"] += 1
            else:
                assert reason.startswith("too few requests to judge"), reason
                sparse["too few"] += 1
    print(f"\nper 90 runs: {bad}; sparse endpoint 25 % slower: {sparse}")
    # 50 repetitions measured 2 false failures and 2 misses in 150 runs each (docs/gate.md).
    assert bad["unchanged"] <= 3
    assert bad["busiest"] <= 3
    assert sum(sparse.values()) == 90

"""The bucket statistics against scipy's values on the same samples, expanded request by request."""

from __future__ import annotations

import bisect
import math
import random

import pytest
from promgate.core.stats.distribution import (
    Buckets,
    detectable_shift,
    mann_whitney,
    requests_needed,
    tail_test,
    z_for,
)

stats = pytest.importorskip("scipy.stats")

#: the exporter's bounds (seconds), on Locust's rounding grid
BOUNDS = (
    0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75,
    1.0, 1.5, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 30.0, 60.0, math.inf,
)  # fmt: skip


def bucketed(values: list[float]) -> tuple[Buckets, list[float]]:
    """The buckets of ``values`` and each value replaced by its bucket's bound (a tie group)."""
    counts = [0.0] * len(BOUNDS)
    expanded = []
    for v in values:
        i = bisect.bisect_left(BOUNDS, v)
        counts[i] += 1
        expanded.append(BOUNDS[i] if math.isfinite(BOUNDS[i]) else 1e9)
    cumulative = [sum(counts[: i + 1]) for i in range(len(counts))]
    return Buckets.from_cumulative(zip(BOUNDS, cumulative, strict=True)), expanded


def lognormal(rng: random.Random, n: int, median: float, sigma: float) -> list[float]:
    return [median * math.exp(rng.gauss(0.0, sigma)) for _ in range(n)]


@pytest.mark.parametrize(
    ("n1", "n2", "m1", "m2", "sigma"),
    [
        (300, 1200, 0.020, 0.020, 0.35),
        (300, 1200, 0.024, 0.020, 0.35),
        (5000, 20000, 0.021, 0.020, 0.35),
        (40, 60, 0.030, 0.025, 0.8),
        (200, 200, 0.015, 0.045, 0.2),
    ],
)
def test_mann_whitney_equals_scipy(n1: int, n2: int, m1: float, m2: float, sigma: float) -> None:
    rng = random.Random(n1 * 7 + n2)
    run, xs = bucketed(lognormal(rng, n1, m1, sigma))
    base, ys = bucketed(lognormal(rng, n2, m2, sigma))
    ours = mann_whitney(run, base)
    ref = stats.mannwhitneyu(
        xs, ys, alternative="two-sided", method="asymptotic", use_continuity=True
    )
    assert ours is not None
    assert ours.u == pytest.approx(ref.statistic, rel=1e-12)
    assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-300)
    assert ours.auc == pytest.approx(ref.statistic / (n1 * n2), rel=1e-12)
    # The sign says which way: positive z is a slower run.
    assert (ours.z > 0) == (ours.auc > 0.5) or ours.z == 0


def test_mann_whitney_all_in_one_bucket_tells_nothing() -> None:
    one = Buckets((0.01, 0.02, math.inf), (0.0, 50.0, 0.0))
    result = mann_whitney(one, Buckets((0.01, 0.02, math.inf), (0.0, 80.0, 0.0)))
    assert result is not None and result.p_value == 1.0 and result.auc == 0.5
    assert mann_whitney(one, Buckets((0.01,), (0.0,))) is None


def test_from_cumulative_orders_and_never_goes_negative() -> None:
    b = Buckets.from_cumulative([(math.inf, 10.0), (0.01, 3.0), (0.02, 2.0), (0.03, 9.0)])
    assert b.bounds == (0.01, 0.02, 0.03, math.inf)
    assert b.counts == (3.0, 0.0, 6.0, 1.0)
    pooled = Buckets.pooled([b, Buckets((0.02, math.inf), (4.0, 4.0))])
    assert pooled.bounds == (0.01, 0.02, 0.03, math.inf)
    assert pooled.counts == (3.0, 4.0, 6.0, 5.0)


def test_tail_test_equals_chi_square_of_the_two_by_two_table() -> None:
    rng = random.Random(5)
    run, _ = bucketed(lognormal(rng, 400, 0.024, 0.35))
    base, _ = bucketed(lognormal(rng, 1600, 0.020, 0.35))
    result = tail_test(run, base, 0.95)
    assert result is not None
    # The cut is a bound with at least 5 % of the baseline above it.
    assert result.bound in BOUNDS and result.base_share >= 0.05
    above_run = result.run_share * run.total
    above_base = result.base_share * base.total
    table = [[above_run, run.total - above_run], [above_base, base.total - above_base]]
    chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
    assert result.z**2 == pytest.approx(chi2, rel=1e-9)
    assert result.p_value == pytest.approx(p, rel=1e-9)


def test_z_for_confidence() -> None:
    assert z_for(0.99) == pytest.approx(stats.norm.ppf(0.995), rel=1e-12)
    assert z_for(0.95) == pytest.approx(1.959964, rel=1e-6)


def test_detectable_shift_has_the_power_it_claims() -> None:
    """At the shift it reports, the test on bucketed log-normal samples finds the shift in about
    80 % of simulated runs; at half of it, far less often."""
    n1, n2, median, sigma = 300, 1200, 0.020, 0.35
    p95 = median * math.exp(sigma * stats.norm.ppf(0.95))
    shift = detectable_shift(n1, n2, median, p95, BOUNDS, 0.99)
    assert 0.03 < shift < 0.3
    rng = random.Random(11)

    def found(s: float, trials: int = 200) -> float:
        hits = 0
        for _ in range(trials):
            run, _ = bucketed(lognormal(rng, n1, median * (1 + s), sigma))
            base, _ = bucketed(lognormal(rng, n2, median, sigma))
            mw = mann_whitney(run, base)
            assert mw is not None
            hits += mw.p_value < 0.01 and mw.z > 0
        return hits / trials

    assert 0.70 <= found(shift) <= 0.90
    assert found(shift / 2) < 0.4
    # More requests detect smaller shifts; none at all detect nothing.
    assert detectable_shift(4 * n1, 4 * n2, median, p95, BOUNDS, 0.99) < shift
    assert detectable_shift(0, n2, median, p95, BOUNDS, 0.99) == math.inf


def test_requests_needed_is_the_least_that_detects_the_shift() -> None:
    median, sigma = 0.030, 0.35
    p95 = median * math.exp(sigma * stats.norm.ppf(0.95))
    n = requests_needed(0.10, 4.0, median, p95, BOUNDS, 0.99)
    assert 50 < n < 5000
    assert detectable_shift(n, 4 * n, median, p95, BOUNDS, 0.99) <= 0.10
    assert detectable_shift(0.95 * n, 3.8 * n, median, p95, BOUNDS, 0.99) > 0.10
    # A wider distribution needs more requests for the same shift.
    assert requests_needed(0.10, 4.0, median, p95 * 1.5, BOUNDS, 0.99) > n

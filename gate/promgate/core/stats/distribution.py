"""Response-time distributions as histogram bucket counts, and the tests that compare two of them.

The exporter's buckets lie on Locust's rounding grid, so a bucket's count is exact for Locust's
data: every request in a bucket is a tie at that bucket's rank. Both tests here work on those
counts directly, in O(buckets), never on a list of requests:

* ``mann_whitney``: the Mann–Whitney U test with the tie correction (normal approximation, with
  continuity correction, as ``scipy.stats.mannwhitneyu(method="asymptotic")``), for "the whole
  distribution moved";
* ``tail_test``: a two-proportion z-test on the share of requests above one bucket bound, for
  "the tail grew" (the p95's shift).

``detectable_shift`` answers the power question (how large a shift these request counts can
show at a confidence) under a log-normal fit to the baseline's own median and p95.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import NormalDist

__all__ = [
    "Buckets",
    "MannWhitney",
    "TailTest",
    "detectable_shift",
    "mann_whitney",
    "requests_needed",
    "tail_test",
    "z_for",
]

_NORMAL = NormalDist()
#: z of the power a "can judge" claim requires: a shift of the threshold's size is found 4 in 5
POWER_Z = _NORMAL.inv_cdf(0.8)
#: requests a tail must be expected to hold on each side before ``tail_test`` judges it
MIN_TAIL = 10.0


@dataclass(frozen=True)
class Buckets:
    """Counts per bucket (not cumulative), bounds ascending; the last bound may be ``inf``."""

    bounds: tuple[float, ...]
    counts: tuple[float, ...]

    @classmethod
    def from_cumulative(cls, pairs: Iterable[tuple[float, float]]) -> Buckets:
        """From Prometheus's ``le`` -> cumulative count pairs (any order, ``+Inf`` included)."""
        ordered = sorted((le, c) for le, c in pairs if not math.isnan(le) and math.isfinite(c))
        bounds: list[float] = []
        counts: list[float] = []
        below = 0.0
        for le, cumulative in ordered:
            # A counter read a scrape apart can dip by a request or two; never a negative count.
            bounds.append(le)
            counts.append(max(0.0, cumulative - below))
            below = max(below, cumulative)
        return cls(tuple(bounds), tuple(counts))

    @classmethod
    def pooled(cls, parts: Sequence[Buckets]) -> Buckets:
        """The sum of several runs' counts, on the union of their bounds."""
        totals: dict[float, float] = {}
        for part in parts:
            for bound, count in zip(part.bounds, part.counts, strict=True):
                totals[bound] = totals.get(bound, 0.0) + count
        bounds = tuple(sorted(totals))
        return cls(bounds, tuple(totals[b] for b in bounds))

    @property
    def total(self) -> float:
        return _fsum(self.counts)

    def share_above(self, bound: float) -> float:
        """The share of requests in buckets above ``bound`` (which must be one of the bounds)."""
        n = self.total
        above = _fsum([c for b, c in zip(self.bounds, self.counts, strict=True) if b > bound])
        return above / n if n else math.nan

    def quantile(self, q: float) -> float:
        """The ``q`` quantile by linear interpolation inside its bucket (``histogram_quantile``);
        only for drawing: the judged figures are Locust's exact percentiles."""
        n = self.total
        if not n:
            return math.nan
        rank = q * n
        lower, seen = 0.0, 0.0
        for bound, count in zip(self.bounds, self.counts, strict=True):
            if count and seen + count >= rank:
                if math.isinf(bound):
                    return lower
                return lower + (bound - lower) * (rank - seen) / count
            seen += count
            lower = bound if math.isfinite(bound) else lower
        return lower


@dataclass(frozen=True)
class MannWhitney:
    """U of the run's sample; ``auc`` = P(run > baseline) + P(tie) / 2, 0.5 when nothing moved."""

    u: float
    z: float
    p_value: float
    auc: float
    #: sqrt of the tie correction's variance factor: the share of the variance ties leave
    tie_factor: float


def mann_whitney(run: Buckets, base: Buckets) -> MannWhitney | None:
    """Two-sided Mann–Whitney U test, run vs baseline; None when either side is empty."""
    bounds = sorted(set(run.bounds) | set(base.bounds))
    a = dict(zip(run.bounds, run.counts, strict=True))
    b = dict(zip(base.bounds, base.counts, strict=True))
    n1, n2 = run.total, base.total
    if n1 <= 0 or n2 <= 0:
        return None
    big_n = n1 + n2
    rank_sum = 0.0
    ties = 0.0
    below = 0.0
    for bound in bounds:
        x, y = a.get(bound, 0.0), b.get(bound, 0.0)
        t = x + y
        # Every request in a bucket shares the bucket's mid-rank.
        rank_sum += x * (below + (t + 1.0) / 2.0)
        ties += t**3 - t
        below += t
    u = rank_sum - n1 * (n1 + 1.0) / 2.0
    mean = n1 * n2 / 2.0
    factor = 1.0 - ties / (big_n**3 - big_n) if big_n > 1 else 0.0
    var = n1 * n2 * (big_n + 1.0) / 12.0 * factor
    auc = u / (n1 * n2)
    if var <= 0:  # every request in one bucket, both sides: nothing can be told apart
        return MannWhitney(u, 0.0, 1.0, auc, 0.0)
    delta = abs(u - mean)
    z = math.copysign(max(0.0, delta - 0.5) / math.sqrt(var), u - mean)
    return MannWhitney(u, z, _two_sided(z), auc, math.sqrt(factor))


@dataclass(frozen=True)
class TailTest:
    bound: float
    run_share: float
    base_share: float
    z: float
    p_value: float


def tail_test(run: Buckets, base: Buckets, quantile: float) -> TailTest | None:
    """Did the share of requests above the baseline's ``quantile`` change?

    The cut is the highest bucket bound at or below the baseline's ``quantile`` bucket, so the
    baseline's share above it is at least ``1 - quantile`` and a bucket count decides it exactly.
    Two-sided two-proportion z-test (pooled variance). None when a side is empty or either side
    would expect fewer than ``MIN_TAIL`` requests in the tail (the approximation overstates
    significance there).
    """
    n1, n2 = run.total, base.total
    if n1 <= 0 or n2 <= 0:
        return None
    cut = _cut_below(base, quantile)
    if cut is None:
        return None
    p1, p2 = run.share_above(cut), base.share_above(cut)
    if min(n1, n2) * min(p2, 1.0 - p2) < MIN_TAIL:
        return None  # the normal approximation needs a few requests expected in the tail
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    var = pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)
    if var <= 0:
        return TailTest(cut, p1, p2, 0.0, 1.0)
    z = (p1 - p2) / math.sqrt(var)
    return TailTest(cut, p1, p2, z, _two_sided(z))


def _cut_below(base: Buckets, quantile: float) -> float | None:
    n = base.total
    seen = 0.0
    cut: float | None = None
    for bound, count in zip(base.bounds, base.counts, strict=True):
        if seen + count >= quantile * n or math.isinf(bound):
            break
        seen += count
        cut = bound
    return cut


def _two_sided(z: float) -> float:
    # erfc keeps the far tail (1e-77) that 1 - cdf would round to 0.
    return math.erfc(abs(z) / math.sqrt(2.0))


def z_for(confidence: float) -> float:
    """The two-sided critical z of ``confidence`` (2.576 at 0.99)."""
    return _NORMAL.inv_cdf(1.0 - (1.0 - confidence) / 2.0)


def detectable_shift(
    n_run: float,
    n_base: float,
    median: float,
    p95: float,
    bounds: Sequence[float],
    confidence: float,
) -> float:
    """The smallest relative slow-down (0.1 = 10 %) that ``mann_whitney`` on these buckets finds
    at ``confidence`` with 80 % power, for a log-normal with the baseline's median and p95.

    The shape is only assumed here, for the power question; the test itself assumes nothing.
    ``inf`` when no shift up to 10x would be found (too few requests, or every request in one
    bucket).
    """
    if n_run <= 0 or n_base <= 0 or not median > 0:
        return math.inf
    sigma = max(math.log(p95 / median) / _NORMAL.inv_cdf(0.95), 1e-3) if p95 > 0 else 1e-3
    finite = sorted(b for b in bounds if math.isfinite(b) and b > 0)
    need = z_for(confidence) + POWER_Z

    def z_of(shift: float) -> float:
        return _expected_z(n_run, n_base, median, sigma, shift, finite)

    if z_of(9.0) < need:
        return math.inf
    lo, hi = 0.0, 9.0
    for _ in range(24):  # to 1e-6 of a shift
        mid = (lo + hi) / 2.0
        lo, hi = (lo, mid) if z_of(mid) >= need else (mid, hi)
    return hi


def requests_needed(
    shift: float,
    base_per_run: float,
    median: float,
    p95: float,
    bounds: Sequence[float],
    confidence: float,
) -> float:
    """Requests a run needs for ``detectable_shift`` to reach ``shift``, when the baseline holds
    ``base_per_run`` times as many (4 for a history of four runs like it); ``inf`` if none do."""
    if not shift > 0 or not base_per_run > 0:
        return math.inf

    def found(n: float) -> bool:
        return detectable_shift(n, n * base_per_run, median, p95, bounds, confidence) <= shift

    hi = 16.0
    while not found(hi):
        hi *= 2
        if hi > 1e9:
            return math.inf
    lo = hi / 2 if hi > 16 else 0.0
    while hi - lo > max(1.0, hi * 0.02):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if found(mid) else (mid, hi)
    return math.ceil(hi)


def _expected_z(
    n1: float, n2: float, median: float, sigma: float, shift: float, bounds: Sequence[float]
) -> float:
    """Expected Mann–Whitney z when the run is the baseline slowed by ``shift``, bucketed."""
    mu = math.log(median)

    def masses(scale: float) -> list[float]:
        cdf = [_NORMAL.cdf((math.log(b / scale) - mu) / sigma) for b in bounds]
        edges = [0.0, *cdf, 1.0]
        return [max(0.0, hi - lo) for lo, hi in itertools.pairwise(edges)]

    base = masses(1.0)
    run = masses(1.0 + shift)
    auc, below = 0.0, 0.0
    for p_run, p_base in zip(run, base, strict=True):
        auc += p_run * (below + p_base / 2.0)
        below += p_base
    big_n = n1 + n2
    pooled = [(n1 * r + n2 * b) / big_n for r, b in zip(run, base, strict=True)]
    ties = sum((big_n * p) ** 3 - big_n * p for p in pooled)
    factor = 1.0 - ties / (big_n**3 - big_n) if big_n > 1 else 0.0
    sd = math.sqrt(n1 * n2 * (big_n + 1.0) / 12.0 * max(factor, 0.0)) / (n1 * n2)
    return (auc - 0.5) / sd if sd > 0 else 0.0


def _fsum(values: tuple[float, ...] | list[float]) -> float:
    """``math.fsum``, or ±inf where it raises: bucket counts come from a server."""
    try:
        return math.fsum(values)
    except OverflowError:
        return sum(values)

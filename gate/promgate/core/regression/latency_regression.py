"""``preset: latency_regression``: is this run slower than its baseline, beyond noise?

Per endpoint and for all requests (the series ``name="Aggregated"``, as Locust's summary calls
it), with one baseline run or a history of runs:

* **effect**: the shift of the median and of the p95 in %, from Locust's own whole-run
  percentiles (exact to its rounding grid); with a history the baseline value is the median of
  the history runs' values, and their **spread** (the largest distance of one history run from
  that median, in %) is what run-to-run noise alone does;
* **significance**: the median's shift by the Mann–Whitney U test on the histogram buckets of
  the run against the pooled buckets of the baseline runs; the p95's by the tail test (the share
  of requests above the baseline's p95 bucket), both from ``distribution``;
* a relative condition (``critical: "> +10%"``) on a shift counts only when that shift is
  significant at ``confidence`` **and** larger than the history's spread;
* **too few requests**: when a shift of the condition's size could not be found at
  ``confidence`` with 80 % power, the series says "too few requests to judge" (verdict by
  ``no_data``) instead of passing.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ...config.conditions import Condition
from ...config.loader import CheckSpec
from ...config.units import convert, get_unit
from ..judging.format import format_labels, format_value
from ..judging.judge import LEVEL_VERDICTS, POLICY_VERDICT, missing_outcome
from ..model.baseline_ref import NoBaseline
from ..model.regression_figures import figures_of
from ..model.result import CheckResult, SeriesResult, Verdict, worst
from ..model.rundata import AGGREGATED, STATS, Key, RunData
from ..stats.distribution import (
    Buckets,
    detectable_shift,
    mann_whitney,
    requests_needed,
    tail_test,
    z_for,
)

__all__ = ["AGGREGATED", "RunData", "judge_regression"]

_STATS = STATS
_SECONDS = get_unit("seconds")
#: below this many requests on either side no rank test is worth its name
MIN_REQUESTS = 20


def judge_regression(
    spec: CheckSpec,
    query: str,
    run: RunData,
    baselines: Sequence[RunData],
    *,
    history: bool,
    confidence: float,
    missing: NoBaseline | None = None,
) -> CheckResult:
    """Judge every endpoint of ``run`` (and all requests) against ``baselines`` (none:
    ``missing`` says why, and whether the series are skipped)."""
    keys = sorted(set(run.buckets) | set(run.percentiles), key=lambda k: (k == AGGREGATED, k))
    series = [
        _judge_series(spec, key, run, baselines, history=history, confidence=confidence)
        if baselines or missing is None
        else _missing(spec, key, run, missing)
        for key in keys
    ]
    if series:
        verdict = worst([s.verdict for s in series])
        decisive = next(s for s in series if s.verdict is verdict)
        reason = f"{format_labels(decisive.labels)}: {decisive.reason}"
        value, bvalue = decisive.value, decisive.baseline
    else:
        verdict = POLICY_VERDICT[spec.no_data]
        reason, value, bvalue = f"no data (no_data: {spec.no_data})", None, None
    return CheckResult.for_spec(
        spec,
        query,
        value=value,
        baseline=bvalue,
        verdict=verdict,
        reason=reason,
        series=series,
        reduce="each",
    )


def _missing(spec: CheckSpec, key: Key, run: RunData, missing: NoBaseline) -> SeriesResult:
    labels = _labels(key)
    median = run.percentiles.get(key, {}).get("median")
    if median is None or key not in run.buckets:
        return _no_data(spec, labels)
    verdict, reason = missing_outcome(spec, missing, "the shift")
    return SeriesResult(labels, median * convert(1.0, _SECONDS, spec.unit), None, verdict, reason)


def _labels(key: Key) -> dict[str, str]:
    return {"name": key[1]} if key == AGGREGATED else {"method": key[0], "name": key[1]}


def _no_data(spec: CheckSpec, labels: dict[str, str]) -> SeriesResult:
    verdict = POLICY_VERDICT[spec.no_data]
    return SeriesResult(labels, None, None, verdict, f"no data (no_data: {spec.no_data})")


@dataclass(frozen=True)
class _Evidence:
    """What one series' run and its baseline runs show, before any condition is applied.
    Figures are in seconds (the JSON's ``regression``); ``k`` turns them into the check's unit."""

    stats: dict[str, dict[str, Any]]
    doc: dict[str, Any]
    pooled: Buckets
    n_run: float
    n_base: float
    detectable: float
    smallest: float | None
    k: float

    @property
    def median_base(self) -> float:
        return float(self.stats["median"]["baseline"])

    @property
    def judgeable(self) -> bool:
        return self.smallest is None or self.detectable <= self.smallest


def _judge_series(
    spec: CheckSpec,
    key: Key,
    run: RunData,
    baselines: Sequence[RunData],
    *,
    history: bool,
    confidence: float,
) -> SeriesResult:
    labels = _labels(key)
    k = convert(1.0, _SECONDS, spec.unit)
    run_b = run.buckets.get(key)
    run_q = run.percentiles.get(key, {})
    if run_b is None or not run_b.total or "median" not in run_q or "p95" not in run_q:
        return _no_data(spec, labels)
    present = [b for b in baselines if key in b.buckets and key in b.percentiles]
    if not present:
        return SeriesResult(
            labels,
            run_q["median"] * k,
            None,
            POLICY_VERDICT[spec.baseline_missing],
            f"no baseline for this series (baseline_missing: {spec.baseline_missing})",
        )
    ev = _evidence(spec, key, run_b, run_q, present, history=history, confidence=confidence)
    base = ev.median_base * k
    thresholds = spec.thresholds(base)
    outcomes, notes = _outcomes(spec, ev, confidence)
    doc = ev.doc
    if outcomes:
        verdict = worst([v for v, _, _ in outcomes])
        stat = next(s for v, s, _ in outcomes if v is verdict)
        reason = "; ".join(dict.fromkeys(text for v, _, text in outcomes if v is verdict))
        run_value, base_value = ev.stats[stat]["run"] * k, ev.stats[stat]["baseline"] * k
    elif not ev.judgeable:
        needed = _requests_needed(ev, confidence)
        doc = {**doc, "requests_needed": needed if math.isfinite(needed) else None}
        verdict = POLICY_VERDICT[spec.no_data]
        reason = _too_few_reason(spec, ev, needed, confidence)
        run_value, base_value = run_q["median"] * k, base
    else:
        verdict, reason = Verdict.PASS, _pass_reason(ev, notes, confidence)
        run_value, base_value = run_q["median"] * k, base
    return SeriesResult(
        labels,
        run_value,
        base_value,
        verdict,
        reason,
        thresholds,
        regression=figures_of(doc),
    )


def _evidence(
    spec: CheckSpec,
    key: Key,
    run_b: Buckets,
    run_q: Mapping[str, float],
    present: Sequence[RunData],
    *,
    history: bool,
    confidence: float,
) -> _Evidence:
    """The run against its pooled baseline runs: each statistic's shift, significance and the
    history's spread, the smallest shift these request counts can show, and the buckets."""
    k = convert(1.0, _SECONDS, spec.unit)
    pooled = Buckets.pooled([b.buckets[key] for b in present])
    n_run, n_base = run_b.total, pooled.total
    tests = _significance(run_b, pooled)
    stats: dict[str, dict[str, Any]] = {}
    for stat, _q in _STATS:
        values = [b.percentiles[key][stat] for b in present if stat in b.percentiles[key]]
        base = statistics.median(values) if values else math.nan
        test = tests[stat]
        stats[stat] = {
            "run": run_q[stat],
            "baseline": base,
            "shift_percent": (run_q[stat] / base - 1.0) * 100.0 if base > 0 else None,
            "spread_percent": _spread(values, base, confidence)
            if history and len(values) > 1
            else None,
            "confidence": 1.0 - test[0] if test else None,
            "z": test[1] if test else None,
            "test": test[2] if test else None,
        }
    median_base, p95_base = stats["median"]["baseline"], stats["p95"]["baseline"]
    detectable = (
        detectable_shift(n_run, n_base, median_base, p95_base, pooled.bounds, confidence)
        if n_run >= MIN_REQUESTS and n_base >= MIN_REQUESTS
        else math.inf
    )
    smallest = _smallest_shift(spec, median_base * k)
    doc: dict[str, Any] = {
        "requests": n_run,
        "baseline_requests": n_base,
        "baseline_runs": len(present),
        "confidence_required": confidence,
        "detectable_percent": detectable * 100.0 if math.isfinite(detectable) else None,
        "judgeable": smallest is None or detectable <= smallest,
        **stats,
        "buckets": {
            "bounds": [b if math.isfinite(b) else None for b in pooled.bounds],
            "run": [_count(run_b, b) for b in pooled.bounds],
            "baseline": list(pooled.counts),
        },
    }
    return _Evidence(stats, doc, pooled, n_run, n_base, detectable, smallest, k)


def _significance(run_b: Buckets, pooled: Buckets) -> dict[str, tuple[float, float, str] | None]:
    """Per statistic, (p-value, z, test name) of its shift, None when no test could be made:
    the median's by Mann-Whitney U, the p95's by the share above the baseline's p95 bucket."""
    mw = mann_whitney(run_b, pooled)
    tail = tail_test(run_b, pooled, 0.95)
    return {
        "median": (mw.p_value, mw.z, "Mann-Whitney U") if mw else None,
        "p95": (tail.p_value, tail.z, f"share above {format_value(tail.bound, _SECONDS)}")
        if tail
        else None,
    }


def _outcomes(
    spec: CheckSpec, ev: _Evidence, confidence: float
) -> tuple[list[tuple[Verdict, str, str]], list[str]]:
    """The (verdict, statistic, text) of every condition that counts, critical first, and
    notes on those crossed that do not count (not significant, within the history's spread)."""
    outcomes: list[tuple[Verdict, str, str]] = []
    notes: list[str] = []
    for level, level_verdict in LEVEL_VERDICTS:
        for cond in spec.conditions(level):
            for stat, _q in _STATS:
                why = _fires(cond, ev.stats[stat], confidence, ev.k)
                if why is None:
                    text = f"{level}: {_shift_text(stat, ev.stats[stat], _SECONDS)}"
                    outcomes.append((level_verdict, stat, text))
                elif why:
                    notes.append(f"{stat} {why}")
    return outcomes, notes


def _shifts(ev: _Evidence) -> str:
    return ", ".join(_shift_text(stat, ev.stats[stat], _SECONDS) for stat, _q in _STATS)


def _requests_needed(ev: _Evidence, confidence: float) -> float:
    """How many requests (at this run's ratio to the baseline's) would show the smallest shift
    the conditions ask about."""
    ratio = ev.n_base / ev.n_run if ev.n_run > 0 else 0.0
    p95_base = ev.stats["p95"]["baseline"]
    return requests_needed(
        ev.smallest or 0.0, ratio, ev.median_base, p95_base, ev.pooled.bounds, confidence
    )


def _too_few_reason(spec: CheckSpec, ev: _Evidence, needed: float, confidence: float) -> str:
    """Why the series is not judged: the shift these requests could show against the one the
    condition asks about."""
    smallest = ev.smallest or 0.0
    return (
        f"too few requests to judge: {ev.n_run:.0f} requests (baseline {ev.n_base:.0f}) show a "
        f"shift only from {_pct(ev.detectable)} at {confidence:.0%} confidence, the condition "
        f"needs {_pct(smallest)}"
        + (f" (about {needed:,.0f} requests)" if math.isfinite(needed) else "")
        + f" (no_data: {spec.no_data}); {_shifts(ev)}"
    )


def _pass_reason(ev: _Evidence, notes: Sequence[str], confidence: float) -> str:
    reason = f"no regression: {_shifts(ev)}"
    if notes:
        return reason + "; " + "; ".join(dict.fromkeys(notes))
    if ev.smallest is not None:
        return reason + f"; a shift from {_pct(ev.detectable)} would show at {confidence:.0%}"
    return reason


def _spread(values: Sequence[float], base: float, confidence: float) -> float | None:
    """How far (%) an unchanged run may land from the history median: the farthest history run,
    or the normal prediction bound ``z * s * sqrt(1 + 1/k)`` of the k runs' relative values at
    ``confidence``, whichever is wider. The farthest of 4 runs alone is beaten by the next
    unchanged run 2 times in 5."""
    if not base > 0:
        return None
    rel = [v / base - 1.0 for v in values]
    farthest = max(abs(r) for r in rel)
    bound = z_for(confidence) * statistics.stdev(rel) * math.sqrt(1.0 + 1.0 / len(rel))
    return max(farthest, bound) * 100.0


def _fires(cond: Condition, stat: Mapping[str, Any], confidence: float, k: float) -> str | None:
    """None when ``cond`` counts for this statistic, else why not ("" when not even crossed);
    ``k`` turns the statistic's seconds into the check's unit."""
    hit = cond.triggered(stat["run"] * k, stat["baseline"] * k)
    if not hit:
        return ""
    conf = stat["confidence"]
    z = stat["z"] or 0.0
    shift = stat["shift_percent"] or 0.0
    if conf is None or conf < confidence or (z > 0) != (shift > 0):
        shown = "n/a" if conf is None else f"{conf:.2%}"
        return (
            f"{shift:+.1f}% crosses {cond.text} but is not significant ({shown} < {confidence:.0%})"
        )
    spread = stat["spread_percent"]
    if spread is not None and abs(shift) <= spread:
        return (
            f"{shift:+.1f}% crosses {cond.text} but is within the history's spread ±{spread:.1f}%"
        )
    return None


def _smallest_shift(spec: CheckSpec, median_base: float) -> float | None:
    """The smallest relative shift any condition asks about (0.1 for ``"> +10%"``)."""
    sizes = [_shift_size(c, median_base) for c in (*spec.warning, *spec.critical)]
    found = [s for s in sizes if s is not None]
    return min(found) if found else None


def _shift_size(cond: Condition, median_base: float) -> float | None:
    """The relative shift ``cond`` asks about; of conditions joined by ``and``, the largest
    (``"> +20% and > +15ms"`` on a 50 ms median: 30 %)."""
    if cond.parts:
        sizes = [s for s in (_shift_size(p, median_base) for p in cond.parts) if s is not None]
        return max(sizes) if sizes else None
    if cond.relative == "percent":
        return abs(cond.amount) / 100.0
    if cond.relative == "delta" and median_base > 0:
        return abs(cond.amount) / median_base
    return None


def _shift_text(stat: str, s: Mapping[str, Any], unit: Any) -> str:
    shift = s["shift_percent"]
    text = (
        f"{stat} {format_value(s['baseline'], unit)} → {format_value(s['run'], unit)}"
        f" ({'n/a' if shift is None else f'{shift:+.1f}%'}"
    )
    if s["confidence"] is not None:
        text += f", confidence {s['confidence']:.2%}"
    if s["spread_percent"] is not None:
        text += f", history spread ±{s['spread_percent']:.1f}%"
    return text + ")"


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%" if math.isfinite(x) else "∞"


def _count(b: Buckets, bound: float) -> float:
    for bb, c in zip(b.bounds, b.counts, strict=True):
        if bb == bound:
            return c
    return 0.0

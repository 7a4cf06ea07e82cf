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
from typing import Any

from ...config.conditions import Condition
from ...config.loader import CheckSpec
from ...config.units import convert, get_unit
from ..judging.format import format_labels, format_value
from ..judging.judge import POLICY_VERDICT, missing_outcome
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
    labels = {"name": key[1]} if key == AGGREGATED else {"method": key[0], "name": key[1]}
    median = run.percentiles.get(key, {}).get("median")
    if median is None or key not in run.buckets:
        verdict = POLICY_VERDICT[spec.no_data]
        return SeriesResult(labels, None, None, verdict, f"no data (no_data: {spec.no_data})")
    verdict, reason = missing_outcome(spec, missing, "the shift")
    return SeriesResult(labels, median * convert(1.0, _SECONDS, spec.unit), None, verdict, reason)


def _judge_series(
    spec: CheckSpec,
    key: Key,
    run: RunData,
    baselines: Sequence[RunData],
    *,
    history: bool,
    confidence: float,
) -> SeriesResult:
    labels = {"name": key[1]} if key == AGGREGATED else {"method": key[0], "name": key[1]}
    # Figures stay in seconds (the JSON's ``regression``); conditions, values and thresholds are
    # in the check's unit (``unit: ms`` and ``"> +5ms"`` work as for any check).
    unit = _SECONDS
    k = convert(1.0, _SECONDS, spec.unit)
    run_b = run.buckets.get(key)
    run_q = run.percentiles.get(key, {})
    if run_b is None or not run_b.total or "median" not in run_q or "p95" not in run_q:
        verdict = POLICY_VERDICT[spec.no_data]
        return SeriesResult(labels, None, None, verdict, f"no data (no_data: {spec.no_data})")
    present = [b for b in baselines if key in b.buckets and key in b.percentiles]
    if not present:
        verdict = POLICY_VERDICT[spec.baseline_missing]
        return SeriesResult(
            labels,
            run_q["median"] * k,
            None,
            verdict,
            f"no baseline for this series (baseline_missing: {spec.baseline_missing})",
        )
    pooled = Buckets.pooled([b.buckets[key] for b in present])
    n_run, n_base = run_b.total, pooled.total
    mw = mann_whitney(run_b, pooled)
    tail = tail_test(run_b, pooled, 0.95)
    tests = {
        "median": (mw.p_value, mw.z, "Mann-Whitney U") if mw else None,
        "p95": (tail.p_value, tail.z, f"share above {format_value(tail.bound, unit)}")
        if tail
        else None,
    }
    stats: dict[str, dict[str, Any]] = {}
    for stat, _q in _STATS:
        values = [b.percentiles[key][stat] for b in present if stat in b.percentiles[key]]
        base = statistics.median(values) if values else math.nan
        spread = _spread(values, base, confidence) if history and len(values) > 1 else None
        test = tests[stat]
        stats[stat] = {
            "run": run_q[stat],
            "baseline": base,
            "shift_percent": (run_q[stat] / base - 1.0) * 100.0 if base > 0 else None,
            "spread_percent": spread,
            "confidence": 1.0 - test[0] if test else None,
            "z": test[1] if test else None,
            "test": test[2] if test else None,
        }
    median_base, p95_base = stats["median"]["baseline"], stats["p95"]["baseline"]
    smallest = _smallest_shift(spec, median_base * k)
    detectable = (
        detectable_shift(n_run, n_base, median_base, p95_base, pooled.bounds, confidence)
        if n_run >= MIN_REQUESTS and n_base >= MIN_REQUESTS
        else math.inf
    )
    judgeable = smallest is None or detectable <= smallest
    doc: dict[str, Any] = {
        "requests": n_run,
        "baseline_requests": n_base,
        "baseline_runs": len(present),
        "confidence_required": confidence,
        "detectable_percent": detectable * 100.0 if math.isfinite(detectable) else None,
        "judgeable": judgeable,
        **stats,
        "buckets": {
            "bounds": [b if math.isfinite(b) else None for b in pooled.bounds],
            "run": [_count(run_b, b) for b in pooled.bounds],
            "baseline": list(pooled.counts),
        },
    }
    thresholds = {
        "warning": [c.threshold(median_base * k) for c in spec.warning],
        "critical": [c.threshold(median_base * k) for c in spec.critical],
    }
    outcomes: list[tuple[Verdict, str, str]] = []
    notes: list[str] = []
    for level, level_verdict, conds in (
        ("critical", Verdict.FAIL, spec.critical),
        ("warning", Verdict.WARN, spec.warning),
    ):
        for cond in conds:
            for stat, _q in _STATS:
                why = _fires(cond, stats[stat], confidence, k)
                if why is None:
                    outcomes.append(
                        (level_verdict, stat, f"{level}: {_shift_text(stat, stats[stat], unit)}")
                    )
                elif why:
                    notes.append(f"{stat} {why}")
    shifts = ", ".join(_shift_text(stat, stats[stat], unit) for stat, _q in _STATS)
    if outcomes:
        verdict = worst([v for v, _, _ in outcomes])
        fired = [text for v, _, text in outcomes if v is verdict]
        stat = next(s for v, s, _ in outcomes if v is verdict)
        reason = "; ".join(dict.fromkeys(fired))
        return SeriesResult(
            labels,
            stats[stat]["run"] * k,
            stats[stat]["baseline"] * k,
            verdict,
            reason,
            thresholds,
            regression=figures_of(doc),
        )
    if not judgeable:
        verdict = POLICY_VERDICT[spec.no_data]
        ratio = n_base / n_run if n_run > 0 else 0.0
        needed = requests_needed(
            smallest or 0.0, ratio, median_base, p95_base, pooled.bounds, confidence
        )
        doc["requests_needed"] = needed if math.isfinite(needed) else None
        reason = (
            f"too few requests to judge: {n_run:.0f} requests (baseline {n_base:.0f}) show a "
            f"shift only from {_pct(detectable)} at {confidence:.0%} confidence, the condition "
            f"needs {_pct(smallest or 0.0)}"
            + (f" (about {needed:,.0f} requests)" if math.isfinite(needed) else "")
            + f" (no_data: {spec.no_data}); {shifts}"
        )
        return SeriesResult(
            labels,
            run_q["median"] * k,
            median_base * k,
            verdict,
            reason,
            thresholds,
            regression=figures_of(doc),
        )
    reason = f"no regression: {shifts}"
    if notes:
        reason += "; " + "; ".join(dict.fromkeys(notes))
    elif smallest is not None:
        reason += f"; a shift from {_pct(detectable)} would show at {confidence:.0%}"
    return SeriesResult(
        labels,
        run_q["median"] * k,
        median_base * k,
        Verdict.PASS,
        reason,
        thresholds,
        regression=figures_of(doc),
    )


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

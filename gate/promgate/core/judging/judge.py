"""Judging query results: units, no data, reducing several series, conditions and baselines.

NaN and ±Inf are no data. Several series are judged each on its own (``reduce: each``) or
reduced explicitly (max, min, avg, sum); the result never depends on series order.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence

from ...config.conditions import Condition, Level
from ...config.loader import CheckSpec, Reduce
from ...config.outcomes import Policy
from ...config.units import convert
from ...prometheus.types import Sample
from ..model.baseline_ref import NoBaseline
from ..model.result import CheckResult, SeriesResult, Verdict, worst
from .format import format_labels, format_value

__all__ = ["LEVEL_VERDICTS", "POLICY_VERDICT", "judge_check", "missing_outcome", "reduce_values"]

#: the verdict each ``no_data`` / ``baseline_missing`` policy gives
POLICY_VERDICT: dict[Policy, Verdict] = {
    "fail": Verdict.FAIL,
    "warn": Verdict.WARN,
    "pass": Verdict.PASS,
    "skip": Verdict.SKIP,
}


#: the verdict a breach of each level gives, the most severe first
LEVEL_VERDICTS: tuple[tuple[Level, Verdict], ...] = (
    ("critical", Verdict.FAIL),
    ("warning", Verdict.WARN),
)


def reduce_values(values: Sequence[float], how: Reduce) -> float | None:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return None
    if how == "max":
        return max(finite)
    if how == "min":
        return min(finite)
    if how == "sum":
        return _total(finite)
    if how == "avg":
        # Each share first: three values near the float maximum average to one of them.
        return _total([v / len(finite) for v in finite])
    raise ValueError(f"unknown reducer {how!r}")


def _total(values: Sequence[float]) -> float:
    """The exact sum; beyond a float (``fsum`` raises), the largest float of its sign, so the
    check is still judged against its thresholds (an infinite value would be undecidable)."""
    try:
        return math.fsum(values)
    except OverflowError:
        return math.copysign(sys.float_info.max, sum(values))


def judge_check(
    spec: CheckSpec,
    query: str,
    samples: Sequence[Sample],
    baseline: Sequence[Sample] | None,
    baseline_query: str | None = None,
    missing: NoBaseline | None = None,
    why: str = "",
) -> CheckResult:
    """Judge one check; ``baseline`` is None when there is no baseline at all (``missing``
    then says why, and whether the relative conditions are skipped); ``why`` explains an
    empty answer (``core.judging.nodata``)."""
    current = _converted(spec, samples)
    base = _converted(spec, baseline) if baseline is not None else None
    judge = _judge_each if spec.reduce == "each" else _judge_reduced
    verdict, value, bvalue, reason, series = judge(spec, current, base, missing, why)
    return CheckResult.for_spec(
        spec,
        query,
        value=value,
        baseline=bvalue,
        verdict=verdict,
        reason=reason,
        series=series,
        baseline_query=baseline_query,
    )


#: a check's verdict, value, baseline value and reason, and its series
_Judged = tuple[Verdict, float | None, float | None, str, list[SeriesResult]]
_Values = list[tuple[dict[str, str], float | None]]


def _judge_each(
    spec: CheckSpec, current: _Values, base: _Values | None, missing: NoBaseline | None, why: str
) -> _Judged:
    """Each series judged on its own; the check's headline is the nearest of the worst."""
    series = [
        _judge_one(spec, labels, value, _match(labels, base, len(current)), missing)
        for labels, value in current
    ]
    if not series:
        one = _judge_one(spec, {}, None, _match({}, base, 1), missing, why)
        return one.verdict, None, one.baseline, one.reason, series
    verdict = worst([s.verdict for s in series])
    decisive = _nearest(spec, [s for s in series if s.verdict is verdict])
    reason = decisive.reason
    if len(series) > 1 and verdict is Verdict.PASS:
        reason = f"all {len(series)} series {reason} (nearest {format_labels(decisive.labels)})"
    elif len(series) > 1:
        reason = f"{format_labels(decisive.labels)}: {reason}"
    return verdict, decisive.value, decisive.baseline, reason, series


def _judge_reduced(
    spec: CheckSpec, current: _Values, base: _Values | None, missing: NoBaseline | None, why: str
) -> _Judged:
    """The series reduced to one value (``reduce: max`` ...), judged once; each series keeps
    its value, marked ``reduced``."""
    value = reduce_values([v for _, v in current if v is not None], spec.reduce)
    bvalue = (
        reduce_values([v for _, v in base if v is not None], spec.reduce)
        if base is not None
        else None
    )
    one = _judge_one(spec, {}, value, bvalue, missing, why if not current else "")
    verdict, reason = one.verdict, one.reason
    dropped = sum(1 for _, v in current if v is None)
    if dropped and value is not None:
        reason += f" ({spec.reduce} of {len(current) - dropped} series; {dropped} without data)"
    elif len(current) > 1:
        reason += f" ({spec.reduce} of {len(current)} series)"
    series = [
        SeriesResult(
            lb,
            v,
            _match(lb, base, len(current)),
            verdict if v is not None else Verdict.SKIP,
            "reduced" if v is not None else "no data",
        )
        for lb, v in current
    ]
    return verdict, value, bvalue, reason, series


def _nearest(spec: CheckSpec, candidates: Sequence[SeriesResult]) -> SeriesResult:
    """The series a check's headline shows among those of its worst verdict: the one nearest
    (or furthest past) its thresholds, so the headline is never a calm endpoint beside a hot one.
    Ties keep label order."""

    def closeness(series: SeriesResult) -> float:
        if series.value is None:
            return -math.inf
        best = -math.inf
        for cond in (*spec.critical, *spec.warning):
            limit = cond.threshold(series.baseline)
            if limit is None or cond.op not in (">", ">=", "<", "<="):
                continue
            gap = series.value - limit if cond.op.startswith(">") else limit - series.value
            best = max(best, gap / abs(limit) if limit else gap)
        return best

    return max(candidates, key=closeness)


def _converted(
    spec: CheckSpec, samples: Sequence[Sample]
) -> list[tuple[dict[str, str], float | None]]:
    out = []
    for s in samples:
        value = convert(s.value, spec.query_unit, spec.unit) if math.isfinite(s.value) else None
        out.append((dict(s.labels), value))
    # Label order, not Prometheus's answer order, decides which series is reported first.
    out.sort(key=lambda item: sorted(item[0].items()))
    return out


def _match(
    labels: dict[str, str], base: list[tuple[dict[str, str], float | None]] | None, n: int
) -> float | None:
    if not base:
        return None
    for blabels, bvalue in base:
        if _key(blabels) == _key(labels):
            return bvalue
    # One aggregate series each side: labels like run_id differ by design, the meaning doesn't.
    if n == 1 and len(base) == 1:
        return base[0][1]
    return None


def _key(labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in labels.items() if k not in ("run_id", "instance")))


def _judge_one(
    spec: CheckSpec,
    labels: dict[str, str],
    value: float | None,
    baseline: float | None,
    missing: NoBaseline | None = None,
    why: str = "",
) -> SeriesResult:
    thresholds = spec.thresholds(baseline)
    if value is None:
        verdict = POLICY_VERDICT[spec.no_data]
        reason = (
            f"no data: {why} (no_data: {spec.no_data})"
            if why
            else f"no data (no_data: {spec.no_data})"
        )
        return SeriesResult(labels, None, baseline, verdict, reason, thresholds)
    outcomes: list[tuple[Verdict, str]] = []
    # The conditions no baseline could judge, said once for all of them (one reason, not one
    # per condition: the reason names the refused runs and can be long).
    unjudged: list[str] = []
    for level, cond_verdict in LEVEL_VERDICTS:
        for cond in spec.conditions(level):
            hit = cond.triggered(value, baseline)
            if hit is None and missing is not None:
                unjudged.append(f"{level} '{cond.text}'")
            elif hit is None:
                policy = POLICY_VERDICT[spec.baseline_missing]
                outcomes.append(
                    (
                        policy,
                        f"no baseline value for {level} '{cond.text}' "
                        f"(baseline_missing: {spec.baseline_missing})",
                    )
                )
            elif hit:
                outcomes.append((cond_verdict, _explain(level, value, cond, baseline, spec)))
    decided = len(outcomes) + len(unjudged)  # conditions that were hit or could not be judged
    if unjudged and missing is not None:
        outcomes.append(missing_outcome(spec, missing, ", ".join(unjudged)))
    if not outcomes:
        return SeriesResult(labels, value, baseline, Verdict.PASS, "within thresholds", thresholds)
    verdict = worst([v for v, _ in outcomes])
    if verdict is Verdict.SKIP and decided < len(spec.critical) + len(spec.warning):
        # Skipping a relative condition must not skip the absolute ones that were judged.
        verdict = Verdict.PASS
    reason = "; ".join(r for v, r in outcomes if v is verdict) or outcomes[0][1]
    return SeriesResult(labels, value, baseline, verdict, reason, thresholds)


def missing_outcome(spec: CheckSpec, missing: NoBaseline, what: str) -> tuple[Verdict, str]:
    """The verdict and reason of ``what`` (a condition, a series) with no baseline to use."""
    if missing.skip:
        return Verdict.SKIP, f"{missing.reason}: {what} not judged"
    policy = spec.baseline_missing
    return POLICY_VERDICT[
        policy
    ], f"{missing.reason}: {what} not judged (baseline_missing: {policy})"


def _explain(
    level: Level, value: float, cond: Condition, baseline: float | None, spec: CheckSpec
) -> str:
    text = f"{level}: {format_value(value, spec.unit)} {cond.text}"
    if cond.needs_baseline and baseline is not None:
        limit = cond.threshold(baseline)
        text += (
            f" (baseline {format_value(baseline, spec.unit)}, limit "
            f"{format_value(limit, spec.unit)})"
        )
    return text

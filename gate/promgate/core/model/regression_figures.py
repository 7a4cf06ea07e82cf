"""The figures ``latency_regression`` stores on each series it judged (``SeriesResult.regression``)
and every report reads: requests, the median's and p95's shift with its confidence, the history's
spread, and the buckets the charts draw. Frozen: a result file round-trips through
``to_dict``/``from_dict`` to the same JSON, and a hostile file's odd values read as absent."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["RegressionFigures", "StatFigures", "figures_of"]


def _number(value: object) -> float | None:
    """A JSON number as it was (an int stays an int, so the JSON is unchanged), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value


def _numbers(value: object) -> tuple[float | None, ...]:
    return tuple(_number(v) for v in value) if isinstance(value, (list, tuple)) else ()


@dataclass(frozen=True)
class StatFigures:
    """One statistic (median or p95) of the run against the baseline, in seconds."""

    run: float | None
    baseline: float | None
    shift_percent: float | None
    #: the history's spread around its median (None: a single baseline run)
    spread_percent: float | None
    #: 1 - the test's p-value (None: no test could be made)
    confidence: float | None
    z: float | None
    #: the test's name (``Mann-Whitney U``, ``share above 250 ms``)
    test: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.run,
            "baseline": self.baseline,
            "shift_percent": self.shift_percent,
            "spread_percent": self.spread_percent,
            "confidence": self.confidence,
            "z": self.z,
            "test": self.test,
        }

    @classmethod
    def from_dict(cls, doc: object) -> StatFigures:
        d: Mapping[str, Any] = doc if isinstance(doc, Mapping) else {}
        test = d.get("test")
        return cls(
            run=_number(d.get("run")),
            baseline=_number(d.get("baseline")),
            shift_percent=_number(d.get("shift_percent")),
            spread_percent=_number(d.get("spread_percent")),
            confidence=_number(d.get("confidence")),
            z=_number(d.get("z")),
            test=test if isinstance(test, str) else None,
        )


@dataclass(frozen=True)
class RegressionFigures:
    """``latency_regression``'s figures for one series."""

    requests: float | None
    baseline_requests: float | None
    baseline_runs: float | None
    confidence_required: float | None
    #: the smallest shift these request counts show at the confidence required
    detectable_percent: float | None
    #: whether that shift is small enough to judge the condition
    judgeable: bool
    median: StatFigures
    p95: StatFigures
    #: bucket bounds (seconds; None is +Inf) and counts of the run and the pooled baseline
    bounds: tuple[float | None, ...]
    run_counts: tuple[float | None, ...]
    baseline_counts: tuple[float | None, ...]
    #: for a series too sparse to judge: whether the requests needed were estimated, and how
    #: many (None: no count would do)
    estimated: bool = False
    requests_needed: float | None = None

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "requests": self.requests,
            "baseline_requests": self.baseline_requests,
            "baseline_runs": self.baseline_runs,
            "confidence_required": self.confidence_required,
            "detectable_percent": self.detectable_percent,
            "judgeable": self.judgeable,
            "median": self.median.to_dict(),
            "p95": self.p95.to_dict(),
            "buckets": {
                "bounds": list(self.bounds),
                "run": list(self.run_counts),
                "baseline": list(self.baseline_counts),
            },
        }
        if self.estimated:
            doc["requests_needed"] = self.requests_needed
        return doc

    @classmethod
    def from_dict(cls, doc: object) -> RegressionFigures | None:
        """The figures in a result file's ``regression`` object, None when it holds none."""
        if not isinstance(doc, Mapping) or not doc:
            return None
        raw = doc.get("buckets")
        buckets: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        return cls(
            requests=_number(doc.get("requests")),
            baseline_requests=_number(doc.get("baseline_requests")),
            baseline_runs=_number(doc.get("baseline_runs")),
            confidence_required=_number(doc.get("confidence_required")),
            detectable_percent=_number(doc.get("detectable_percent")),
            judgeable=doc.get("judgeable") is True,
            median=StatFigures.from_dict(doc.get("median")),
            p95=StatFigures.from_dict(doc.get("p95")),
            bounds=_numbers(buckets.get("bounds")),
            run_counts=_numbers(buckets.get("run")),
            baseline_counts=_numbers(buckets.get("baseline")),
            estimated="requests_needed" in doc,
            requests_needed=_number(doc.get("requests_needed")),
        )


def figures_of(doc: Mapping[str, Any]) -> RegressionFigures:
    """The judge's own figures (``doc`` built by it, so never empty)."""
    figures = RegressionFigures.from_dict(doc)
    assert figures is not None
    return figures

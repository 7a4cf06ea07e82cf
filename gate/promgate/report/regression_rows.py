"""``latency_regression`` per endpoint, as every output shows it: the baseline value (the history
median), this run's value, the effect, the confidence, the history's spread and why it passed or
failed. Rows come from the figures the judge stored on each series (``SeriesResult.regression``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..core.judging.format import format_value
from ..core.model.regression_figures import StatFigures
from ..core.model.result import CheckResult, GateResult, SeriesResult

__all__ = [
    "HEADER",
    "RegressionRow",
    "Stat",
    "baseline_text",
    "cells",
    "regression_rows",
    "row_for",
    "text_lines",
]

HEADER = (
    "endpoint",
    "requests",
    "median base → run",
    "p95 base → run",
    "confidence",
    "history spread",
    "verdict",
)


@dataclass(frozen=True)
class Stat:
    baseline: float | None
    run: float | None
    shift_percent: float | None
    confidence: float | None
    spread_percent: float | None


@dataclass(frozen=True)
class RegressionRow:
    check: str
    endpoint: str
    verdict: str
    reason: str
    requests: float | None
    baseline_requests: float | None
    baseline_runs: int
    median: Stat
    p95: Stat
    detectable_percent: float | None
    #: bucket bounds (seconds; None is +Inf) and counts of the run and the pooled baseline
    bounds: list[float | None] = field(default_factory=list)
    run_counts: list[float] = field(default_factory=list)
    baseline_counts: list[float] = field(default_factory=list)


def regression_rows(result: GateResult) -> list[RegressionRow]:
    """One row per judged series of every ``latency_regression`` check, in the check's order."""
    rows = (row_for(check, s) for check in result.checks for s in check.series)
    return [r for r in rows if r is not None]


def row_for(check: CheckResult, s: SeriesResult) -> RegressionRow | None:
    """The series' row, None for a series without regression figures."""
    figures = s.regression
    if figures is None:
        return None
    labels = s.labels
    endpoint = " ".join(p for p in (labels.get("method", ""), labels.get("name", "")) if p)
    return RegressionRow(
        check=check.name,
        endpoint=endpoint or "all requests",
        verdict=s.verdict.value,
        reason=s.reason,
        requests=_f(figures.requests),
        baseline_requests=_f(figures.baseline_requests),
        baseline_runs=int(_f(figures.baseline_runs) or 0),
        median=_stat(figures.median),
        p95=_stat(figures.p95),
        detectable_percent=_f(figures.detectable_percent),
        bounds=[_f(b) for b in figures.bounds],
        run_counts=[_f(c) or 0.0 for c in figures.run_counts],
        baseline_counts=[_f(c) or 0.0 for c in figures.baseline_counts],
    )


def cells(row: RegressionRow) -> tuple[str, ...]:
    """The row's text cells, in ``HEADER`` order."""
    conf = [c for c in (row.median.confidence, row.p95.confidence) if c is not None]
    spread = [
        f"{name} ±{s.spread_percent:.1f}%"
        for name, s in (("median", row.median), ("p95", row.p95))
        if s.spread_percent is not None
    ]
    return (
        row.endpoint,
        _count(row.requests),
        _stat_text(row.median),
        _stat_text(row.p95),
        " / ".join(_conf(c) for c in conf) or "–",
        ", ".join(spread) or "–",
        row.verdict,
    )


def _stat_text(s: Stat) -> str:
    shift = "" if s.shift_percent is None else f" ({s.shift_percent:+.1f}%)"
    return f"{format_value(s.baseline, 'seconds')} → {format_value(s.run, 'seconds')}{shift}"


def _conf(c: float) -> str:
    return ">99.99%" if c > 0.9999 else f"{c:.2%}"


def _count(n: float | None) -> str:
    return "–" if n is None else f"{n:,.0f}"


def _stat(figures: StatFigures) -> Stat:
    return Stat(
        baseline=_f(figures.baseline),
        run=_f(figures.run),
        shift_percent=_f(figures.shift_percent),
        confidence=_f(figures.confidence),
        spread_percent=_f(figures.spread_percent),
    )


def _f(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def text_lines(rows: Sequence[RegressionRow]) -> list[str]:
    """An aligned table of the rows, then each row's reason (the terminal's view)."""
    if not rows:
        return []
    table = [HEADER, *(cells(r) for r in rows)]
    widths = [max(len(r[i]) for r in table) for i in range(len(HEADER))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in table]
    lines += [f"{r.check} {r.endpoint}: {r.reason}" for r in rows]
    return lines


def baseline_text(result: GateResult) -> str:
    """What the run was compared with, in a few words (``history of 4 runs``)."""
    base = result.baseline
    if base is None:
        return ""
    if base.missing:
        return "none (" + base.missing.split(" (")[0].split(":")[0] + ")"
    if base.source == "history":
        wanted = (
            f" of {base.wanted} wanted" if base.wanted and base.wanted != len(base.history) else ""
        )
        return f"history of {len(base.history)}{wanted} runs"
    if base.run is not None:
        return repr(base.run.run_id)
    return base.file or ""

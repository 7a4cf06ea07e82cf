"""The gate's result model and its JSON form (``promgate check --json``).

The JSON document is the interface for every renderer (text, JUnit, Markdown, HTML) and for
``--baseline-file``. Schema (``schema`` = 1); times are Unix seconds, values are in the check's
``unit``, ``null`` means no data::

    {"schema": 1, "promgate_version": str, "generated_at": float,
     "verdict": "pass"|"warning"|"fail", "exit_code": int, "strict": bool,
     "prometheus": str, "run": RunWindow, "baseline": null | {"source": "run"|"file",
       "run": RunWindow | null, "file": str | null},
     "summary": {"requests": float|null, "failures": ..., "error_rate_percent": ...,
                 "rps": ..., "p50": s, "p95": s, "p99": s, "avg_response_time": s,
                 "cpu_usage_avg": %, "memory_usage_avg": %},
     "checks": [CheckResult], "notes": [str]}
    RunWindow = {"run_id", "job", "start", "end", "final_scrape", "scrape_interval",
                 "eval_time", "window"}
    CheckResult = {"name", "description", "preset", "query", "baseline_query", "unit",
                   "reduce", "no_data", "baseline_missing", "warning": [str], "critical": [str],
                   "value", "baseline", "verdict": "pass"|"warning"|"fail"|"skip",
                   "reason": str, "series": [SeriesResult]}
    SeriesResult = {"labels": {str: str}, "value", "baseline", "verdict", "reason",
                    "thresholds": {"warning": [float|null], "critical": [float|null]}}
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SCHEMA", "CheckResult", "GateResult", "SeriesResult", "Verdict", "worst"]

SCHEMA = 1


class Verdict(str, enum.Enum):
    PASS = "pass"
    WARN = "warning"
    FAIL = "fail"
    SKIP = "skip"

    @property
    def code(self) -> int:
        """The number pushed as ``promgate_check_verdict`` (docs/metrics.md)."""
        return {"pass": 0, "warning": 1, "fail": 2, "skip": 3}[self.value]

    @property
    def severity(self) -> int:
        # A skipped series never hides a judged one: skip < pass < warning < fail.
        return {"skip": 0, "pass": 1, "warning": 2, "fail": 3}[self.value]


def worst(verdicts: Sequence[Verdict]) -> Verdict:
    return max(verdicts, key=lambda v: v.severity) if verdicts else Verdict.SKIP


@dataclass
class SeriesResult:
    labels: dict[str, str]
    value: float | None
    baseline: float | None
    verdict: Verdict
    reason: str
    thresholds: dict[str, list[float | None]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "labels": dict(self.labels),
            "value": _num(self.value),
            "baseline": _num(self.baseline),
            "verdict": self.verdict.value,
            "reason": self.reason,
            "thresholds": {k: [_num(x) for x in v] for k, v in self.thresholds.items()},
        }


@dataclass
class CheckResult:
    name: str
    description: str
    preset: str | None
    query: str
    unit: str
    reduce: str
    no_data: str
    baseline_missing: str
    warning: list[str]
    critical: list[str]
    value: float | None
    baseline: float | None
    verdict: Verdict
    reason: str
    series: list[SeriesResult] = field(default_factory=list)
    baseline_query: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "preset": self.preset,
            "query": self.query,
            "baseline_query": self.baseline_query,
            "unit": self.unit,
            "reduce": self.reduce,
            "no_data": self.no_data,
            "baseline_missing": self.baseline_missing,
            "warning": list(self.warning),
            "critical": list(self.critical),
            "value": _num(self.value),
            "baseline": _num(self.baseline),
            "verdict": self.verdict.value,
            "reason": self.reason,
            "series": [s.to_dict() for s in self.series],
        }


@dataclass
class GateResult:
    version: str
    generated_at: float
    prometheus: str
    run: dict[str, Any]
    checks: list[CheckResult]
    summary: dict[str, float | None]
    baseline: dict[str, Any] | None = None
    strict: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> Verdict:
        """fail if any check fails (or warns, with --strict) or nothing could be judged."""
        judged = [c.verdict for c in self.checks if c.verdict is not Verdict.SKIP]
        if not judged:
            return Verdict.FAIL  # never pass when nothing was known
        overall = worst(judged)
        if self.strict and overall is Verdict.WARN:
            return Verdict.FAIL
        return overall

    @property
    def exit_code(self) -> int:
        return 1 if self.verdict is Verdict.FAIL else 0

    @property
    def run_id(self) -> str:
        return str(self.run.get("run_id", ""))

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "promgate_version": self.version,
            "generated_at": self.generated_at,
            "verdict": self.verdict.value,
            "exit_code": self.exit_code,
            "strict": self.strict,
            "prometheus": self.prometheus,
            "run": dict(self.run),
            "baseline": self.baseline,
            "summary": {k: _num(v) for k, v in self.summary.items()},
            "checks": [c.to_dict() for c in self.checks],
            "notes": list(self.notes),
        }


def _num(value: float | None) -> float | None:
    # JSON has no NaN or Infinity; no data is null.
    if value is None or not math.isfinite(value):
        return None
    return value

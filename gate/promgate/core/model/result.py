"""The gate's result model and its JSON form (``promgate check --json``).

Every renderer (text, JUnit, Markdown, GitHub, HTML, analysis JSON, pushed results) takes a
``GateResult``; ``to_dict``/``from_dict`` are its JSON form (``promgate check --json``, read back by
``promgate report --result`` and as a baseline file). Schema ``promgate.result/2`` (results
with ``schema`` 1 or none still read); times are Unix seconds, values are in the check's
``unit``, ``null`` means no data; docs/gate.md "Result schema" is the full text::

    {"schema": "promgate.result/2", "promgate_version": str, "generated_at": float,
     "verdict": "pass"|"warning"|"fail", "exit_code": int, "warning_exit_code": int,
     "strict": bool,
     "prometheus": str, "run": RunWindow, "baseline": null | Baseline (core.model.baseline_ref),
     "summary": {"requests": float|null, "failures": ..., "error_rate_percent": ...,
                 "rps": ..., "p50": s, "p95": s, "p99": s, "avg_response_time": s,
                 "cpu_usage_avg": %, "memory_usage_avg": %},
     "checks": [CheckResult], "notes": [str], "aborted": null | Abort,
     "dashboard_url": null | str, "profile": null | RunProfile (core.model.profile),
     "endpoints": null | [EndpointRecord] (core.model.rundata),
     "report": null | RunReport (core.model.runreport: the HTML report's tables and chart lines),
     "report_checks": [CheckResult] (``mode: report``: never counted)}
    RunWindow = {"run_id", "job", "start", "end", "final_scrape", "scrape_interval",
                 "eval_time", "window"}
    CheckResult = {"name", "description", "preset", "query", "baseline_query", "unit",
                   "reduce", "no_data", "baseline_missing", "warning": [str], "critical": [str],
                   "value", "baseline", "verdict": "pass"|"warning"|"fail"|"skip",
                   "reason": str, "series": [SeriesResult], "mode": "gate"|"report"}
    SeriesResult = {"labels": {str: str}, "value", "baseline", "verdict", "reason",
                    "thresholds": {"warning": [float|null], "critical": [float|null]}}
    Abort = see ``promgate.core.model.aborted`` (``promgate run`` stopped the load test early)
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ...config.loader import REDUCERS, CheckSpec, Reduce
from ...config.outcomes import POLICIES, CheckMode, Policy
from ...config.units import UNIT_NAMES, UnitName
from ...errors import ExitCode
from ...prometheus.types import RunWindow
from .aborted import Abort
from .baseline_ref import Baseline
from .profile import RunProfile
from .regression_figures import RegressionFigures
from .rundata import RunData
from .runreport import RunReport

__all__ = [
    "SCHEMA",
    "SCHEMAS",
    "Baseline",
    "CheckResult",
    "GateResult",
    "SeriesResult",
    "Verdict",
    "worst",
]

#: the schema this version writes; it reads every one of ``SCHEMAS`` (and results without one)
SCHEMA = "promgate.result/2"
SCHEMAS = (1, "promgate.result/1", SCHEMA)
_Name = TypeVar("_Name", bound=str)


class Verdict(str, enum.Enum):
    PASS = "pass"
    WARN = "warning"
    FAIL = "fail"
    SKIP = "skip"

    @classmethod
    def from_code(cls, code: float) -> Verdict | None:
        """The verdict pushed as ``code`` (``promgate_verdict``), None for an unknown number."""
        return next((v for v in cls if v.code == code), None)

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
    #: ``latency_regression``'s figures (effect, confidence, spread, buckets)
    regression: RegressionFigures | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "labels": dict(self.labels),
            "value": _num(self.value),
            "baseline": _num(self.baseline),
            "verdict": self.verdict.value,
            "reason": self.reason,
            "thresholds": {k: [_num(x) for x in v] for k, v in self.thresholds.items()},
            "regression": None
            if self.regression is None
            else _json_safe(self.regression.to_dict()),
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> SeriesResult:
        thresholds = doc.get("thresholds") or {}
        return cls(
            labels={str(k): str(v) for k, v in (doc.get("labels") or {}).items()},
            value=_opt(doc.get("value")),
            baseline=_opt(doc.get("baseline")),
            verdict=Verdict(doc["verdict"]),
            reason=str(doc.get("reason") or ""),
            thresholds={str(k): [_opt(x) for x in v] for k, v in thresholds.items()},
            regression=RegressionFigures.from_dict(doc.get("regression")),
        )


@dataclass
class CheckResult:
    name: str
    description: str
    preset: str | None
    query: str
    unit: UnitName
    reduce: Reduce
    no_data: Policy
    baseline_missing: Policy
    warning: list[str]
    critical: list[str]
    value: float | None
    baseline: float | None
    verdict: Verdict
    reason: str
    series: list[SeriesResult] = field(default_factory=list)
    baseline_query: str | None = None
    #: the seconds judged (``window:``), e.g. ``steady 0:10-0:22 (12s)``; None: the whole run
    span: str | None = None
    #: ``report``: shown apart, never counted (``GateResult.report_checks``)
    mode: CheckMode = CheckMode.GATE

    @classmethod
    def for_spec(
        cls,
        spec: CheckSpec,
        query: str,
        *,
        value: float | None,
        baseline: float | None,
        verdict: Verdict,
        reason: str,
        series: list[SeriesResult],
        reduce: Reduce | None = None,
        baseline_query: str | None = None,
    ) -> CheckResult:
        """The result of judging ``spec``: every judge builds it here, so a new field of the
        spec cannot be forgotten by one of them."""
        return cls(
            name=spec.name,
            description=spec.description,
            preset=spec.preset,
            query=query,
            unit=spec.unit.name,
            reduce=reduce or spec.reduce,
            no_data=spec.no_data,
            baseline_missing=spec.baseline_missing,
            warning=[c.text for c in spec.warning],
            critical=[c.text for c in spec.critical],
            value=value,
            baseline=baseline,
            verdict=verdict,
            reason=reason,
            series=series,
            baseline_query=baseline_query,
            mode=spec.mode,
        )

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
            "window": self.span,
            "mode": self.mode.value,
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> CheckResult:
        return cls(
            name=str(doc["name"]),
            description=str(doc.get("description") or ""),
            preset=_opt_text(doc.get("preset")),
            query=str(doc.get("query") or ""),
            unit=_one_of(doc.get("unit"), UNIT_NAMES, "count"),
            reduce=_one_of(doc.get("reduce"), REDUCERS, "max"),
            no_data=_one_of(doc.get("no_data"), POLICIES, "fail"),
            baseline_missing=_one_of(doc.get("baseline_missing"), POLICIES, "fail"),
            warning=[str(x) for x in doc.get("warning") or []],
            critical=[str(x) for x in doc.get("critical") or []],
            value=_opt(doc.get("value")),
            baseline=_opt(doc.get("baseline")),
            verdict=Verdict(doc["verdict"]),
            reason=str(doc.get("reason") or ""),
            series=[SeriesResult.from_dict(s) for s in doc.get("series") or []],
            baseline_query=_opt_text(doc.get("baseline_query")),
            span=_opt_text(doc.get("window")),
            mode=CheckMode(doc.get("mode") or CheckMode.GATE.value),
        )


@dataclass
class GateResult:
    version: str
    generated_at: float
    prometheus: str
    run: RunWindow
    checks: list[CheckResult]
    summary: dict[str, float | None]
    baseline: Baseline | None = None
    strict: bool = False
    notes: list[str] = field(default_factory=list)
    #: set by ``promgate run`` when it stopped the load test early
    aborted: Abort | None = None
    #: the run's Grafana dashboard (``--grafana-url``)
    dashboard_url: str | None = None
    #: the run's identity and load profile (schema 2; None in older results)
    profile: RunProfile | None = None
    #: per endpoint: buckets, Locust's percentiles, counts (schema 2; None in older results)
    endpoints: RunData | None = None
    #: the HTML report's tables and chart lines (schema 2, added later; None when not read)
    report: RunReport | None = None
    #: ``mode: report`` checks: judged and shown apart, never counted (not even with strict)
    report_checks: list[CheckResult] = field(default_factory=list)
    #: the exit code of a warning verdict (0: warnings pass)
    warning_exit_code: int = 0

    @property
    def verdict(self) -> Verdict:
        """fail if any check fails (or warns, with --strict), nothing could be judged, or the run
        was stopped early (an aborted run fails even when its final checks pass)."""
        if self.aborted is not None:
            return Verdict.FAIL
        judged = [c.verdict for c in self.checks if c.verdict is not Verdict.SKIP]
        if not judged and not self.checks and self.report_checks:
            # Only report-only checks: nothing gates; the run is known, and passes when any
            # of them saw data (never on nothing).
            seen = any(c.value is not None for c in self.report_checks)
            return Verdict.PASS if seen else Verdict.FAIL
        if not judged:
            if self.baseline is not None and self.baseline.pending and self.checks:
                # A first run: the run had data, only the baseline is still to come (each
                # check and the notes say so); failing it would keep any baseline from forming.
                return Verdict.PASS
            return Verdict.FAIL  # never pass when nothing was known
        overall = worst(judged)
        if self.strict and overall is Verdict.WARN:
            return Verdict.FAIL
        return overall

    @property
    def exit_code(self) -> int:
        verdict = self.verdict
        if verdict is Verdict.WARN:
            return self.warning_exit_code
        return ExitCode.FAIL if verdict is Verdict.FAIL else ExitCode.PASS

    @property
    def run_id(self) -> str:
        return self.run.run_id

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "promgate_version": self.version,
            "generated_at": self.generated_at,
            "verdict": self.verdict.value,
            "exit_code": int(self.exit_code),
            "warning_exit_code": self.warning_exit_code,
            "strict": self.strict,
            "prometheus": self.prometheus,
            "run": self.run.to_dict(),
            "baseline": self.baseline.to_dict() if self.baseline is not None else None,
            "summary": {k: _num(v) for k, v in self.summary.items()},
            "checks": [c.to_dict() for c in self.checks],
            "notes": list(self.notes),
            "aborted": self.aborted.to_dict() if self.aborted is not None else None,
            "dashboard_url": self.dashboard_url,
            "profile": self.profile.to_dict() if self.profile is not None else None,
            "endpoints": self.endpoints.to_list() if self.endpoints is not None else None,
            "report": self.report.to_dict() if self.report is not None else None,
            "report_checks": [c.to_dict() for c in self.report_checks],
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> GateResult:
        """A result as ``to_dict`` wrote it; ``ValueError`` says what is missing or malformed."""
        if not isinstance(doc, Mapping) or not isinstance(doc.get("run"), Mapping):
            raise ValueError("no 'run' object")
        schema = doc.get("schema", 1)
        if schema not in SCHEMAS:
            raise ValueError(f"unknown schema {schema!r} (this promgate reads up to {SCHEMA})")
        try:
            baseline = doc.get("baseline")
            aborted = doc.get("aborted")
            profile, endpoints = doc.get("profile"), doc.get("endpoints")
            report = doc.get("report")
            run_id = str(doc["run"].get("run_id") or "")
            return cls(
                version=str(doc.get("promgate_version") or ""),
                generated_at=float(doc.get("generated_at") or 0.0),
                prometheus=str(doc.get("prometheus") or ""),
                run=RunWindow.from_dict(doc["run"]),
                checks=[CheckResult.from_dict(c) for c in doc.get("checks") or []],
                summary={str(k): _opt(v) for k, v in (doc.get("summary") or {}).items()},
                baseline=Baseline.from_dict(baseline) if isinstance(baseline, Mapping) else None,
                strict=bool(doc.get("strict")),
                notes=[str(n) for n in doc.get("notes") or []],
                aborted=Abort.from_dict(aborted) if isinstance(aborted, Mapping) else None,
                dashboard_url=str(doc["dashboard_url"]) if doc.get("dashboard_url") else None,
                profile=RunProfile.from_dict(profile) if isinstance(profile, Mapping) else None,
                endpoints=RunData.from_list(run_id, endpoints)
                if isinstance(endpoints, list)
                else None,
                report=RunReport.from_dict(report) if isinstance(report, Mapping) else None,
                report_checks=[CheckResult.from_dict(c) for c in doc.get("report_checks") or []],
                warning_exit_code=_exit_code(doc.get("warning_exit_code")),
            )
        except KeyError as exc:
            raise ValueError(f"a check has no {exc.args[0]!r}") from None
        except (TypeError, AttributeError) as exc:
            raise ValueError(f"malformed: {exc}") from None


def _opt(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return float(value)
    except OverflowError:  # an integer of 400 digits in a file from elsewhere
        raise ValueError(f"a number too large: {str(value)[:20]}...") from None


def _exit_code(value: object) -> int:
    """A result file's ``warning_exit_code``: a free code, else 0 (older results have none)."""
    return (
        value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 126 else 0
    )


def _one_of(value: object, names: tuple[_Name, ...], default: _Name) -> _Name:
    """A closed-set field of a result file from elsewhere: one of ``names``, else ``default``."""
    return next((n for n in names if n == value), default)


def _opt_text(value: object) -> str | None:
    """A text field of a result file from elsewhere: a string, or nothing."""
    return value if isinstance(value, str) else None


def _json_safe(value: Any) -> Any:
    """``value`` with every non-finite float as null (JSON has no NaN or Infinity)."""
    if isinstance(value, float):
        return _num(value)
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _num(value: float | None) -> float | None:
    # JSON has no NaN or Infinity; no data is null.
    if value is None or not math.isfinite(value):
        return None
    return value

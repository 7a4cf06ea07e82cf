"""Evaluating a config against one run (and optionally a baseline): the library entry point.

    gate = Gate(config, PrometheusClient(url))
    result = gate.evaluate("run-42", baseline_run="run-41")

Queries are rendered and syntax-checked before any request, then run concurrently in a thread
pool; judging happens after all answers are in.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from .._version import __version__
from ..config.baseline import REGRESSION_PRESET
from ..config.loader import CheckSpec, GateConfig
from ..config.outcomes import CheckMode, check_warning_exit_code
from ..config.query_lint import PLACEHOLDERS, lint_check, parse_promql
from ..config.units import convert, get_unit
from ..defaults import WAIT_TIMEOUT
from ..errors import ConfigError, PrometheusError, UsageError
from ..prometheus.client import PrometheusClient
from ..prometheus.templating import render
from ..prometheus.types import RunWindow, Sample
from ..prometheus.window import find_latest_run, resolve_run
from .judging.judge import judge_check
from .judging.nodata import Diagnosis, explain
from .judging.nodata import plan as diagnosis_queries
from .judging.summary import SUMMARY_QUERIES, summary_value
from .judging.window_edges import WindowResolver
from .model.baseline_ref import NoBaseline
from .model.result import CheckResult, GateResult
from .model.rundata import RunData
from .regression.baseline_history import history_samples
from .regression.latency_regression import judge_regression
from .runs.baseline_plan import Plan, Source, plan_baseline
from .runs.collect import fetch_profile, fetch_run
from .runs.result_files import gather_results

__all__ = ["Gate"]

K = TypeVar("K", bound=Hashable)


@dataclass
class _Rendered:
    """One evaluation's queries: each check's on the judged run and on the first baseline run
    (the reports show both), and every query to send, by (what, check or summary name)."""

    checks: dict[str, str] = field(default_factory=dict)
    baselines: dict[str, str] = field(default_factory=dict)
    jobs: dict[tuple[str, str], tuple[str, float]] = field(default_factory=dict)


class Gate:
    def __init__(
        self,
        config: GateConfig,
        client: PrometheusClient,
        *,
        job: str | None = None,
        variables: Mapping[str, str] | None = None,
        wait_timeout: float | None = None,
        progress: Callable[[str], None] | None = None,
        max_workers: int = 8,
    ) -> None:
        self.config = config
        self.client = client
        self.job = job or config.job or "locust"
        self.variables = {**config.vars, **(variables or {})}
        self.wait_timeout = (
            wait_timeout
            if wait_timeout is not None
            else (config.wait_timeout if config.wait_timeout is not None else WAIT_TIMEOUT)
        )
        self.progress = progress
        self.max_workers = max(1, max_workers)

    def lint(self) -> None:
        """Raise the first syntax error; nothing is sent to Prometheus before this passes."""
        placeholders = {**PLACEHOLDERS, **self.variables}
        for check in self.config.checks:
            lint_check(check, self.config.source, placeholders)

    def resolve(self, run_id: str) -> RunWindow:
        if run_id == "latest":
            run_id = find_latest_run(self.client, self.job, self.config.lookback)
        return resolve_run(
            self.client,
            run_id,
            self.job,
            lookback=self.config.lookback,
            wait_timeout=self.wait_timeout,
            progress=self.progress,
        )

    def evaluate(
        self,
        run_id: str,
        *,
        baseline_run: str | None = None,
        baseline_file: str | Path | Sequence[str | Path] | None = None,
        baseline_history: int | None = None,
        strict: bool = False,
        warning_exit_code: int | None = None,
    ) -> GateResult:
        """Judge ``run_id``; the baseline is a run, result files (one, several, or directories
        of them), or the last ``baseline_history`` passing runs, from Prometheus or from the
        files (default: the config's ``baseline: {history: N}``, used when no baseline run or
        file is given, or with files)."""
        source = self._source(baseline_run, _paths(baseline_file), baseline_history)
        window = self.resolve(run_id)
        profile = fetch_profile(self.client, window)
        plan = plan_baseline(
            self.client,
            window,
            profile,
            source,
            resolve=self.resolve,
            lookback=self.config.lookback,
        )
        spans = WindowResolver(self.client)
        rendered = self._render_all(window, plan.windows, spans)
        answers = self._run_all(rendered.jobs)
        run_data = fetch_run(self.client, window)  # the result file's endpoints, always
        base_data = self._baseline_endpoints(plan)
        whys = self._explain_no_data(rendered.checks, answers, window)
        checks = [
            _judge_regression(check, rendered.checks[check.name], run_data, base_data, plan)
            if check.preset == REGRESSION_PRESET
            else spans.mark(self._judge(check, rendered, answers, plan, whys), check, window)
            for check in self.config.checks
        ]
        return GateResult(
            version=__version__,
            generated_at=time.time(),
            prometheus=self.client.shown_url,
            run=window,
            checks=[c for c in checks if c.mode is CheckMode.GATE],
            summary=_summary(answers),
            baseline=plan.baseline,
            strict=strict,
            notes=self._notes(plan),
            profile=profile,
            endpoints=run_data,
            report_checks=[c for c in checks if c.mode is CheckMode.REPORT],
            warning_exit_code=self.config.warning_exit_code
            if warning_exit_code is None
            else check_warning_exit_code(warning_exit_code, "warning_exit_code"),
        )

    def _source(self, run: str | None, files: tuple[str, ...], history: int | None) -> Source:
        """The baseline as the options name it, after everything that can fail before a
        query: options that contradict, the config's syntax, the baseline files."""
        if run and files:
            raise UsageError("a baseline run or a baseline file, not both", option="baseline")
        if run and history:
            raise UsageError("a baseline run or a baseline history, not both", option="baseline")
        self.lint()
        self.client.warnings.clear()  # one evaluation's warnings never leak into the next
        found = gather_results(files) if files else None  # a bad file fails before any query
        wanted = history or (None if run else self.config.baseline_history)
        if found is not None and history is None and found.explicit:
            wanted = None  # one file named explicitly: that run is the baseline
        return Source(run, found, wanted, self.config.comparable)

    def _render_all(
        self, window: RunWindow, base_windows: Sequence[RunWindow], spans: WindowResolver
    ) -> _Rendered:
        """Every check's query on the run and on each baseline run, each rendered once; a
        window the run lacks sends no query (the check says why)."""
        out = _Rendered()
        for check in self.config.checks:
            out.checks[check.name] = self._render(check, window, spans)
            if spans.variables(check, window) is not None:
                out.jobs[("check", check.name)] = (out.checks[check.name], window.eval_time)
            for i, bw in enumerate(base_windows):
                expr = self._render(check, bw, spans)
                out.baselines.setdefault(check.name, expr)
                if spans.variables(check, bw) is not None:
                    out.jobs[(f"base{i}", check.name)] = (expr, bw.eval_time)
        for name, (build, _scale) in SUMMARY_QUERIES.items():
            out.jobs[("summary", name)] = (render(build(), window.variables()), window.eval_time)
        return out

    def _baseline_endpoints(self, plan: Plan) -> list[RunData]:
        """The baseline runs' endpoints (only ``latency_regression`` reads them): from
        Prometheus for its runs, from the files for results read."""
        if not any(c.preset == REGRESSION_PRESET for c in self.config.checks):
            return []
        return [fetch_run(self.client, bw) for bw in plan.windows] + [
            r.endpoints or RunData(r.run_id, {}, {}) for r in plan.results
        ]

    def _judge(
        self,
        check: CheckSpec,
        rendered: _Rendered,
        answers: Mapping[tuple[str, str], list[Sample]],
        plan: Plan,
        whys: Mapping[str, str],
    ) -> CheckResult:
        return judge_check(
            check,
            rendered.checks[check.name],
            answers.get(("check", check.name), []),
            _baseline_samples(check, answers, plan),
            rendered.baselines.get(check.name),
            missing=plan.missing or _unnamed_in_results(check, plan.results, plan.windows),
            why=whys.get(check.name, ""),
        )

    def _notes(self, plan: Plan) -> list[str]:
        notes = [*self.client.warnings, *plan.notes]
        if all(c.mode is CheckMode.REPORT for c in self.config.checks):
            notes.append("every check is report-only (mode: report): nothing gates this run")
        if not any(c.relative for c in self.config.checks) and plan.baseline is not None:
            notes.append("a baseline was given but no check has a relative condition")
        return notes

    def _render(self, check: CheckSpec, window: RunWindow, spans: WindowResolver) -> str:
        span = spans.render_variables(check, window)
        expr = render(check.query, {**self.variables, **window.variables(), **span})
        try:
            parse_promql(expr)
        except ConfigError as exc:  # the run's own values broke the syntax: say which check
            raise ConfigError(
                exc.message,
                file=self.config.source,
                line=check.line,
                key=f"checks.{check.name}.query",
                option=exc.option,
            ) from None
        return expr

    def _explain_no_data(
        self,
        rendered: Mapping[str, str],
        answers: Mapping[tuple[str, str], list[Sample]],
        window: RunWindow,
    ) -> dict[str, str]:
        """Why each check whose query returned nothing did (``core.judging.nodata``): its queries in
        one concurrent round; one that fails is left out, never failing the gate."""
        diag = Diagnosis(window, self.config.lookback, self.wait_timeout)
        # A check whose window the run lacks sent no query: its reason says why (core/windows).
        empty = [n for n in rendered if ("check", n) in answers and not answers[("check", n)]]
        jobs = {
            (n, *key): (q, window.eval_time)
            for n in empty
            for key, q in diagnosis_queries(rendered[n], diag).items()
        }
        found = self._run_all(jobs, tolerant=True) if jobs else {}
        whys = {}
        for n in empty:
            mine = {key[1:]: samples for key, samples in found.items() if key[0] == n}
            whys[n] = explain(rendered[n], mine, diag)
        return whys

    def _run_all(
        self, jobs: Mapping[K, tuple[str, float]], *, tolerant: bool = False
    ) -> dict[K, list[Sample]]:
        """Every query at once; ``tolerant``: a failed one is left out of the answers."""
        with ThreadPoolExecutor(max_workers=min(self.max_workers, len(jobs))) as pool:
            futures = {
                key: pool.submit(self.client.query, expr, at) for key, (expr, at) in jobs.items()
            }
            answers: dict[K, list[Sample]] = {}
            for key, future in futures.items():
                failed = future.exception()
                if failed is None:
                    answers[key] = future.result()
                elif not (tolerant and isinstance(failed, PrometheusError)):
                    # The first failure (Prometheus down, bad query) unchanged.
                    raise failed
            return answers


def _judge_regression(
    check: CheckSpec, query: str, run: RunData, baselines: Sequence[RunData], plan: Plan
) -> CheckResult:
    return judge_regression(
        check,
        query,
        run,
        baselines,
        history=plan.history,
        confidence=check.confidence,
        missing=plan.missing,
    )


def _summary(answers: Mapping[tuple[str, str], list[Sample]]) -> dict[str, float | None]:
    return {
        name: summary_value(answers[("summary", name)], scale)
        for name, (_build, scale) in SUMMARY_QUERIES.items()
    }


def _baseline_samples(
    check: CheckSpec, answers: Mapping[tuple[str, str], list[Sample]], plan: Plan
) -> list[Sample] | None:
    """The baseline's values of ``check``: each baseline run's (Prometheus's answers, then the
    result files' values), as one run or, for a history, the median of the runs per series."""
    per_run = [answers.get((f"base{i}", check.name), []) for i in range(len(plan.windows))]
    per_run += [result_samples(r, check) for r in plan.results]
    if not per_run:
        return None
    return history_samples(per_run) if plan.history else per_run[0]


def _paths(given: str | Path | Sequence[str | Path] | None) -> tuple[str, ...]:
    if given is None:
        return ()
    if isinstance(given, (str, Path)):
        return (str(given),)
    return tuple(str(p) for p in given)


def _unnamed_in_results(
    check: CheckSpec, results: Sequence[GateResult], base_windows: Sequence[RunWindow]
) -> NoBaseline | None:
    """Why a relative check has no baseline value when the baseline is result files none of
    which holds a check of its name (values are matched by check name: a renamed or new check)."""
    if not check.relative or base_windows or not results:
        return None
    if any(c.name == check.name for r in results for c in (*r.checks, *r.report_checks)):
        return None
    runs = ", ".join(r.run_id for r in results[:3]) + (", ..." if len(results) > 3 else "")
    return NoBaseline(
        f"no baseline value: the baseline result ({runs}) has no check named {check.name!r} "
        "(values are matched by check name; a renamed or new check has none until a run with it "
        "becomes the baseline)"
    )


def result_samples(result: GateResult, check: CheckSpec) -> list[Sample]:
    """An earlier result's values of this check as the samples its query would give, in the
    query's unit: every series (a reduced check keeps its series' values too), else the value.
    Empty when the result has no check of that name, or one in a unit that does not convert."""
    item = next((c for c in [*result.checks, *result.report_checks] if c.name == check.name), None)
    if item is None:
        return []
    try:
        scale = convert(1.0, get_unit(item.unit), check.query_unit)
    except ConfigError:
        return []

    def scaled(value: float | None) -> float:
        return value * scale if value is not None else math.nan

    if item.series:
        return [Sample(dict(s.labels), scaled(s.value)) for s in item.series]
    return [Sample({}, scaled(item.value))]

"""Evaluating a config against one run (and optionally a baseline): the library entry point.

    gate = Gate(config, PrometheusClient(url))
    result = gate.evaluate("run-42", baseline_run="run-41")

Queries are rendered and syntax-checked before any request, then run concurrently in a thread
pool; judging happens after all answers are in.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .._version import __version__
from ..config.baseline import REGRESSION_PRESET
from ..config.lint import PLACEHOLDERS, lint_check, parse_promql
from ..config.loader import CheckSpec, GateConfig
from ..config.units import convert, get_unit
from ..errors import ConfigError, UsageError
from ..prometheus.client import PrometheusClient
from ..prometheus.templating import render
from ..prometheus.types import RunWindow, Sample
from ..prometheus.window import find_latest_run, resolve_run
from .history import find_history, history_samples
from .judge import judge_check
from .regression import fetch_run, judge_regression
from .result import Baseline, CheckResult, GateResult
from .summary import SUMMARY_QUERIES, summary_value

__all__ = ["Gate"]


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
            else (config.wait_timeout if config.wait_timeout is not None else 300.0)
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
        baseline_file: str | Path | None = None,
        baseline_history: int | None = None,
        strict: bool = False,
    ) -> GateResult:
        """Judge ``run_id``; the baseline is a run, a result file, or the last
        ``baseline_history`` passing runs (default: the config's ``baseline: {history: N}``,
        used when no baseline run or file is given)."""
        if baseline_run and baseline_file:
            raise UsageError("a baseline run or a baseline file, not both", option="baseline")
        self.lint()
        self.client.warnings.clear()  # one evaluation's warnings never leak into the next
        baseline_doc = _read_baseline(baseline_file) if baseline_file else None
        window = self.resolve(run_id)
        base_window = self.resolve(baseline_run) if baseline_run else None
        wanted = None if baseline_run or baseline_file else self.config.baseline_history
        wanted = baseline_history or wanted
        history = (
            find_history(self.client, window, wanted, self.config.lookback, self.resolve)
            if wanted
            else None
        )
        base_windows = list(history.runs) if history else [base_window] if base_window else []

        jobs: dict[tuple[str, str], tuple[str, float]] = {}
        rendered: dict[str, str] = {}
        base_rendered: dict[str, str] = {}
        for check in self.config.checks:
            rendered[check.name] = self._render(check, window)
            jobs[("check", check.name)] = (rendered[check.name], window.eval_time)
            for i, bw in enumerate(base_windows):
                base_rendered.setdefault(check.name, self._render(check, bw))
                jobs[(f"base{i}", check.name)] = (self._render(check, bw), bw.eval_time)
        for name, (build, _scale) in SUMMARY_QUERIES.items():
            expr = render(build(), window.variables())
            jobs[("summary", name)] = (expr, window.eval_time)
        answers = self._run_all(jobs)
        regression = any(c.preset == REGRESSION_PRESET for c in self.config.checks)
        run_data = fetch_run(self.client, window) if regression else None
        base_data = [fetch_run(self.client, bw) for bw in base_windows] if regression else []

        checks: list[CheckResult] = []
        for check in self.config.checks:
            if check.preset == REGRESSION_PRESET and run_data is not None:
                checks.append(
                    judge_regression(
                        check,
                        rendered[check.name],
                        run_data,
                        base_data,
                        history=history is not None,
                        confidence=check.confidence,
                    )
                )
                continue
            per_run = [answers[(f"base{i}", check.name)] for i in range(len(base_windows))]
            if history is not None:
                base: list[Sample] | None = history_samples(per_run) if per_run else None
            elif base_window is not None:
                base = per_run[0]
            elif baseline_doc is not None:
                base = _baseline_samples(baseline_doc, check)
            else:
                base = None
            checks.append(
                judge_check(
                    check,
                    rendered[check.name],
                    answers[("check", check.name)],
                    base,
                    base_rendered.get(check.name),
                )
            )
        summary: dict[str, float | None] = {}
        for name, (_build, scale) in SUMMARY_QUERIES.items():
            summary[name] = summary_value(answers[("summary", name)], scale)
        baseline: Baseline | None = None
        if history is not None:
            newest = history.runs[0] if history.runs else None
            baseline = Baseline("history", run=newest, history=history.run_ids, wanted=wanted)
        elif base_window is not None:
            baseline = Baseline("run", run=base_window)
        elif baseline_file is not None:
            baseline = Baseline("file", run=_baseline_window(baseline_doc), file=str(baseline_file))
        notes = list(self.client.warnings)
        if history is not None:
            notes.append(f"baseline history: {history.describe()}")
        if not any(c.relative for c in self.config.checks) and baseline is not None:
            notes.append("a baseline was given but no check has a relative condition")
        return GateResult(
            version=__version__,
            generated_at=time.time(),
            prometheus=self.client.shown_url,
            run=window,
            checks=checks,
            summary=summary,
            baseline=baseline,
            strict=strict,
            notes=notes,
        )

    def _render(self, check: CheckSpec, window: RunWindow) -> str:
        expr = render(check.query, {**self.variables, **window.variables()})
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

    def _run_all(
        self, jobs: Mapping[tuple[str, str], tuple[str, float]]
    ) -> dict[tuple[str, str], list[Sample]]:
        with ThreadPoolExecutor(max_workers=min(self.max_workers, len(jobs))) as pool:
            futures = {
                key: pool.submit(self.client.query, expr, at) for key, (expr, at) in jobs.items()
            }
            # .result() re-raises the first failure (Prometheus down, bad query) unchanged.
            return {key: future.result() for key, future in futures.items()}


def _baseline_window(doc: Mapping[str, Any] | None) -> RunWindow | None:
    """The earlier result's run window, when it recorded a readable one."""
    run = (doc or {}).get("run")
    try:
        return RunWindow.from_dict(run) if isinstance(run, Mapping) else None
    except ValueError:
        return None


def _read_baseline(path: str | Path) -> dict[str, Any]:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read baseline file: {exc}", option="baseline_file") from None
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"baseline file {path}:{exc.lineno}: invalid JSON: {exc.msg}", option="baseline_file"
        ) from None
    except (ValueError, RecursionError) as exc:  # an integer beyond 4,300 digits, deep nesting
        raise UsageError(f"baseline file {path}: {exc}", option="baseline_file") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("checks"), list):
        raise UsageError(
            f"baseline file {path}: not a promgate result (no checks list)", option="baseline_file"
        )
    return doc


def _baseline_samples(doc: Mapping[str, Any], check: CheckSpec) -> list[Sample] | None:
    """The earlier result's values for this check, as samples in the check's query unit."""
    for item in doc["checks"]:
        if not isinstance(item, dict) or item.get("name") != check.name:
            continue
        try:
            unit = get_unit(str(item.get("unit", check.unit.name)))
            scale = convert(1.0, unit, check.query_unit)
        except ConfigError:
            return None
        series = item.get("series") or []
        if check.reduce == "each" and isinstance(series, list) and series:
            return [
                Sample(_labels(s.get("labels"), check.name), _f(s.get("value"), check.name) * scale)
                for s in series
                if isinstance(s, dict)
            ]
        return [Sample({}, _f(item.get("value"), check.name) * scale)]
    return None


def _labels(labels: object, check: str) -> dict[str, str]:
    if labels is None:
        return {}
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        raise UsageError(
            f"baseline file: check {check!r}: series labels are not an object of strings "
            "(pass a file written by promgate check --json)",
            option="baseline_file",
        )
    return {str(k): v for k, v in labels.items()}


def _f(value: object, check: str) -> float:
    """A number of the baseline file as a float; NaN when it has none (no baseline value)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return math.nan
    try:
        number = float(value)
    except OverflowError:
        raise UsageError(
            f"baseline file: check {check!r}: value too large for a number",
            option="baseline_file",
        ) from None
    return number if math.isfinite(number) else math.nan

"""A check's window as the run's seconds: the ``$win_*`` variables its query is rendered with.

Edges, in the exporter's clock (Unix seconds): ``whole`` from the run's start, ``steady`` from
``locust_run_steady_timestamp_seconds`` (Locust's ``spawning_complete``), ``skip D`` from start
+ D, ``last D`` from end - D; every window ends at the run's end. Counters are read at
``$win_end`` = the evaluation time (the scrape after the final push, so the run's last values),
and ``$win_seconds`` (RPS's denominator) is the run's end minus the window's start.
"""

from __future__ import annotations

import math

from ... import queries
from ...config.loader import CheckSpec
from ...config.windows import WindowKind, WindowSpec
from ...prometheus.client import PrometheusClient
from ...prometheus.templating import render
from ...prometheus.types import RunWindow
from ..model.result import CheckResult

__all__ = ["WindowResolver"]


def _num(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _clock(seconds: float) -> str:
    whole = max(0, round(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


class WindowResolver:
    """Resolves each check's window on a run, asking Prometheus once per run for its steady
    moment (only when a check needs it)."""

    def __init__(self, client: PrometheusClient) -> None:
        self.client = client
        self._steady: dict[tuple[str, str], float | None] = {}
        #: why a window could not be resolved, per (run_id, window text)
        self.problems: dict[tuple[str, str], str] = {}

    def steady(self, run: RunWindow) -> float | None:
        key = (run.job, run.run_id)
        if self._steady.get(key) is None:  # not yet known: a live run may reach it later
            expr = render(queries.run_steady(), run.variables())
            found = [s.value for s in self.client.query(expr, run.eval_time)]
            value = found[0] if found and math.isfinite(found[0]) and found[0] > 0 else None
            self._steady[key] = value
        return self._steady[key]

    def start(self, spec: WindowSpec, run: RunWindow) -> float | None:
        """The window's start, or None (a reason in ``problems``) when the run has no such
        seconds."""
        if spec.kind is WindowKind.WHOLE:
            return run.start
        if spec.kind is WindowKind.STEADY:
            start = self.steady(run)
            if start is None:
                self._problem(spec, run, "the run has no steady moment (its users never all ran)")
            return start
        if spec.kind is WindowKind.SKIP:
            start = run.start + spec.seconds
        else:
            start = max(run.start, run.end - spec.seconds)
        if start >= run.end:
            self._problem(spec, run, f"the run lasted only {run.end - run.start:.0f}s")
            return None
        return start

    def _problem(self, spec: WindowSpec, run: RunWindow, text: str) -> None:
        self.problems[(run.run_id, spec.describe())] = f"window {spec.describe()}: {text}"

    def variables(self, check: CheckSpec, run: RunWindow) -> dict[str, str] | None:
        start = self.start(check.window, run)
        if start is None:
            return None
        seconds = max(run.end - start, 1e-3)
        return {
            "win_start": _num(start),
            "win_end": _num(run.eval_time),
            "win_seconds": _num(seconds),
            # to the millisecond: the range selector's start is the window's start
            "win_range": f"{max(1, round((run.eval_time - start) * 1000))}ms",
        }

    def label(self, check: CheckSpec, run: RunWindow) -> str:
        """``steady 0:10-0:22 (12s)``: the window and its seconds into the run."""
        start = self.start(check.window, run)
        name = check.window.describe()
        if start is None:
            return self.problems.get((run.run_id, name), name)
        return (
            f"{name} {_clock(start - run.start)}-{_clock(run.end - run.start)}"
            f" ({run.end - start:.0f}s)"
        )

    def render_variables(self, check: CheckSpec, run: RunWindow) -> dict[str, str]:
        """The check's ``$win_*`` values; an empty window at the run's end when it has none
        (the query is then shown but not run: the check has no data, and says why)."""
        found = self.variables(check, run)
        if found is not None:
            return found
        end = _num(run.eval_time)
        return {"win_start": end, "win_end": end, "win_seconds": "0.001", "win_range": "1ms"}

    def problem(self, check: CheckSpec, run: RunWindow) -> str | None:
        return self.problems.get((run.run_id, check.window.describe()))

    def mark(self, result: CheckResult, check: CheckSpec, run: RunWindow) -> CheckResult:
        """``result`` with its window named (none for the whole run), and why an unresolved
        window has no data in its reason."""
        if check.window.kind is WindowKind.WHOLE:
            return result
        result.span = self.label(check, run)
        problem = self.problem(check, run)
        if problem:
            result.reason = f"{result.reason}; {problem}" if result.reason else problem
        return result

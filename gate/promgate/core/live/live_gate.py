"""The gate during the run: the checks marked ``abort:``, judged over "run start until now".

Each evaluation renders a check's query exactly as the final check does, with the run's window
ending now (``$run_end`` = now, ``$window`` = from the run's start to now), and judges the answer
with the same conditions. Only a critical breach counts towards an abort, and only when it holds
for the check's ``for`` and not before its ``after``. No data, Prometheus trouble and warnings
never abort: they are shown, and the final check decides.
"""

from __future__ import annotations

import enum
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ... import queries
from ...config.abort import AbortRule
from ...config.conditions import Condition
from ...config.loader import CheckSpec
from ...errors import ConfigError, PrometheusError
from ...prometheus.client import PrometheusClient
from ...prometheus.templating import render
from ...prometheus.types import RunWindow
from ...prometheus.window import run_selector
from ..gate import Gate
from ..judging.format import format_labels, format_value
from ..judging.judge import judge_check
from ..judging.window_edges import WindowResolver
from ..model.aborted import Abort, elapsed_text
from ..model.result import CheckResult

__all__ = [
    "AbortTimer",
    "Breach",
    "LiveGate",
    "LiveState",
    "LiveValue",
    "Tick",
    "find_breach",
    "live_window",
]

#: seconds added to "start until now", as the final check adds a margin to its window
WINDOW_MARGIN = 10
#: Evaluations run every interval, but each starts when the last one's queries are done, so two
#: of them ``for`` apart can be measured a little less than ``for`` apart: allow 10 % of it.
JITTER = 0.1


class LiveState(str, enum.Enum):
    """A live check at one evaluation."""

    #: before the check's ``after``: shown, not judged
    WAITING = "waiting"
    OK = "ok"
    #: a warning condition holds (never aborts)
    WARNING = "warning"
    NO_DATA = "no data"
    #: a critical breach that has not yet held for ``for``
    PENDING = "pending"
    ABORT = "abort"
    #: no answer from Prometheus
    UNKNOWN = "unknown"


class AbortTimer:
    """The ``for``/``after`` state machine of one check; times are seconds from the run's start.

    ``observe`` returns ``waiting`` (before ``after``), ``ok``, ``pending`` (breached, ``for``
    not yet held), ``abort`` or ``unknown`` (no answer from Prometheus: the state is kept, so an
    outage neither resets a pending breach nor completes it).
    """

    def __init__(self, rule: AbortRule) -> None:
        self.rule = rule
        #: elapsed seconds at the first evaluation of the current unbroken breach
        self.since: float | None = None

    def observe(self, elapsed: float, breached: bool | None) -> LiveState:
        if breached is None:
            return LiveState.UNKNOWN
        if elapsed < self.rule.after or not breached:
            self.since = None
            return LiveState.WAITING if elapsed < self.rule.after else LiveState.OK
        if self.since is None:
            self.since = elapsed
        held = elapsed - self.since >= self.rule.hold * (1 - JITTER)
        return LiveState.ABORT if held else LiveState.PENDING

    def held(self, elapsed: float) -> float:
        return 0.0 if self.since is None else max(0.0, elapsed - self.since)


@dataclass(frozen=True)
class Breach:
    value: float
    condition: Condition
    labels: dict[str, str]


def find_breach(
    spec: CheckSpec, result: CheckResult, conditions: Sequence[Condition]
) -> Breach | None:
    """The first series (or the reduced value) in the bad state of one of ``conditions``.

    Only a value that satisfies a condition counts: no data and a relative condition without a
    baseline are not breaches.
    """
    if spec.reduce == "each":
        candidates = [(s.value, s.baseline, s.labels) for s in result.series]
    else:
        candidates = [(result.value, result.baseline, {})]
    for value, baseline, labels in candidates:
        if value is None or not math.isfinite(value):
            continue
        for cond in conditions:
            if cond.triggered(value, baseline):
                return Breach(value, cond, dict(labels))
    return None


@dataclass(frozen=True)
class LiveValue:
    """One check at one live evaluation."""

    spec: CheckSpec
    state: LiveState
    value: float | None = None
    breach: Breach | None = None
    #: seconds the current breach has held
    held: float = 0.0
    error: str = ""

    def describe(self) -> str:
        name = self.spec.name
        rule = self.spec.abort or AbortRule()
        if self.state is LiveState.UNKNOWN:
            return f"{name} unknown ({self.error})"
        if self.state is LiveState.NO_DATA:
            return f"{name} no data"
        shown = format_value(self.value, self.spec.unit)
        if self.breach is not None:
            shown = format_value(self.breach.value, self.spec.unit)
            where = format_labels(self.breach.labels) if self.breach.labels else ""
            shown = f"{shown}{where} {self.breach.condition.text}"
        if self.state is LiveState.WAITING:
            return f"{name} {shown} (not judged before {rule.after:g}s)"
        if self.state is LiveState.PENDING:
            return f"{name} {shown} PENDING {self.held:.0f}s of {rule.hold:g}s"
        if self.state is LiveState.ABORT:
            return f"{name} {shown} ABORT"
        if self.state is LiveState.WARNING:
            return f"{name} {shown} warning"
        return f"{name} {shown} ok"


@dataclass(frozen=True)
class Tick:
    """One live evaluation: when, how far into the run, and every live check's state."""

    at: float
    #: seconds since the run's start; None while the run is not in Prometheus yet
    elapsed: float | None
    values: tuple[LiveValue, ...] = ()
    note: str = ""

    @property
    def aborting(self) -> LiveValue | None:
        return next((v for v in self.values if v.state is LiveState.ABORT), None)

    def line(self) -> str:
        when = elapsed_text(self.elapsed) if self.elapsed is not None else "-:--"
        parts = [v.describe() for v in self.values]
        if self.note:
            parts.append(self.note)
        return f"promgate: live {when} " + "; ".join(parts)


def live_window(run_id: str, job: str, start: float, now: float) -> RunWindow:
    """The run's window during the run: from its start until now (the end is now)."""
    seconds = max(1, math.ceil(now - start)) + WINDOW_MARGIN
    return RunWindow(run_id, job, start, now, now, 0.0, now, seconds)


class LiveGate:
    """Evaluates a gate's ``abort:`` checks on a running test, one ``evaluate()`` per interval."""

    def __init__(
        self,
        gate: Gate,
        run_id: str,
        *,
        client: PrometheusClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.gate = gate
        self.run_id = run_id
        #: a client that fails fast: a slow answer must not hold up the next evaluation
        self.client = client or gate.client
        self.clock = clock
        self.checks = tuple(c for c in gate.config.checks if c.abort is not None)
        self.timers = {c.name: AbortTimer(c.abort or AbortRule()) for c in self.checks}
        self.spans = WindowResolver(self.client)
        #: the run's start (exporter's clock), once Prometheus has it
        self.start: float | None = None
        self.last: Tick | None = None

    def evaluate(self) -> Tick:
        now = self.clock()
        if self.start is None:
            try:
                self.start = self.find_start()
            except PrometheusError as exc:
                return self._keep(Tick(now, None, note=f"Prometheus: {exc.message}; not judged"))
            if self.start is None:
                note = f"run {self.run_id!r} not in Prometheus yet"
                return self._keep(Tick(now, None, note=note))
        elapsed = max(0.0, now - self.start)
        window = live_window(self.run_id, self.gate.job, self.start, now)
        values = tuple(self._judge(spec, window, elapsed) for spec in self.checks)
        return self._keep(Tick(now, elapsed, values))

    def abort(self, tick: Tick) -> Abort | None:
        """The abort record of ``tick``, if one of its checks says abort."""
        hit = tick.aborting
        if hit is None or hit.breach is None or tick.elapsed is None or self.start is None:
            return None
        spec = hit.spec
        first = self.timers[spec.name].since
        since = self.start + (first if first is not None else tick.elapsed)
        value = format_value(hit.breach.value, spec.unit)
        where = format_labels(hit.breach.labels) if hit.breach.labels else ""
        message = (
            f"check {spec.name}{where} is {value}, critical {hit.breach.condition.text}, "
            f"since {elapsed_text(since - self.start)} into the run"
        )
        if spec.abort is not None and spec.abort.hold:
            message += f" (held {hit.held:.0f}s; abort for {spec.abort.hold:g}s)"
        return Abort(
            reason="breach",
            at=tick.at,
            message=message,
            check=spec.name,
            value=hit.breach.value,
            unit=spec.unit.name,
            threshold=hit.breach.condition.text,
            labels=hit.breach.labels,
            since=since,
            elapsed=tick.elapsed,
        )

    def _keep(self, tick: Tick) -> Tick:
        self.last = tick
        return tick

    def find_start(self) -> float | None:
        """The run's start timestamp from Prometheus (None: not there); raises PrometheusError."""
        selector = run_selector(self.run_id, self.gate.job)
        expr = queries.run_start(selector, self.gate.config.lookback)
        for sample in self.client.query(expr):
            if math.isfinite(sample.value):
                return sample.value
        return None

    def _judge(self, spec: CheckSpec, window: RunWindow, elapsed: float) -> LiveValue:
        timer = self.timers[spec.name]
        try:
            span = self.spans.variables(spec, window)
            if span is None:  # a window the run has not reached yet: no data, never an abort
                timer.observe(elapsed, False)
                return LiveValue(spec, LiveState.NO_DATA)
            expr = render(spec.query, {**self.gate.variables, **window.variables(), **span})
            samples = self.client.query(expr, window.eval_time)
        except (PrometheusError, ConfigError) as exc:
            timer.observe(elapsed, None)
            return LiveValue(spec, LiveState.UNKNOWN, error=exc.message)
        result = judge_check(spec, expr, samples, None)
        breach = find_breach(spec, result, spec.critical)
        state = timer.observe(elapsed, breach is not None)
        no_data = result.value is None and all(s.value is None for s in result.series)
        if state is LiveState.OK and no_data:
            state = LiveState.NO_DATA
        if state is LiveState.OK:
            warning = find_breach(spec, result, spec.warning)
            if warning is not None:
                return LiveValue(spec, LiveState.WARNING, warning.value, warning)
        return LiveValue(spec, state, result.value, breach, timer.held(elapsed))

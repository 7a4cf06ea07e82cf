"""Why a check's query returned nothing: which queries to ask, and what their answers say.

Pure: ``plan`` lists the queries (from ``queries.diagnose``) for the vector selectors of the
check's rendered query, the gate runs them (``core.gate``), and ``explain`` turns the answers
into the clause the check's reason carries after ``no data:``. For the first selector without
data in the run's window it finds, in this order: data only outside the window (and a last
scrape older than the wait), the run or job unknown, the metric absent for the run (with a near
name), a label value that nearly matches (``did you mean "/students"?``), or no series with
every matcher at once. The exporter's failed pushes are added whatever the cause.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import promql_parser

from ... import queries
from ...prometheus.templating import escape_string
from ...prometheus.types import RunWindow, Sample
from ...prometheus.window import run_selector
from ...textsafe import clip

__all__ = ["Diagnosis", "Matcher", "Selector", "explain", "plan", "selectors"]

#: the selectors of one query looked into (a query rarely has more)
MAX_SELECTORS = 4
#: label values shown when none is near the one asked for
SHOWN_VALUES = 5
#: the longest label value (or metric name) from Prometheus a reason quotes
MAX_VALUE = 80
#: the labels that say which run (and job) a series belongs to
_SCOPE = ("job", "run_id")
#: promql-parser's match operators (not hashable) as PromQL writes them
_OPS = (
    (promql_parser.MatchOp.Equal, "="),
    (promql_parser.MatchOp.NotEqual, "!="),
    (promql_parser.MatchOp.Re, "=~"),
    (promql_parser.MatchOp.NotRe, "!~"),
)

Key = tuple[int, str, str]


@dataclass(frozen=True)
class Matcher:
    label: str
    op: str
    value: str

    def text(self) -> str:
        return f'{self.label}{self.op}"{escape_string(self.value)}"'

    def matches(self, value: str) -> bool:
        if self.op in ("=", "!="):
            return (value == self.value) == (self.op == "=")
        try:  # Prometheus anchors its (RE2) regexes; one Python cannot read matches anything
            found = re.fullmatch(self.value, value) is not None
        except re.error:
            return True
        return found == (self.op == "=~")


@dataclass(frozen=True)
class Selector:
    name: str | None
    matchers: tuple[Matcher, ...]

    @property
    def scope(self) -> tuple[Matcher, ...]:
        return tuple(m for m in self.matchers if m.label in _SCOPE and m.op == "=")

    @property
    def others(self) -> tuple[Matcher, ...]:
        return tuple(m for m in self.matchers if m not in self.scope)

    def text(self, *, scope_only: bool = False, with_name: bool = True) -> str:
        matchers = self.scope if scope_only else self.matchers
        body = ", ".join(m.text() for m in matchers)
        name = self.name if with_name and self.name else ""
        return f"{name}{{{body}}}" if body or not name else name


@dataclass(frozen=True)
class Diagnosis:
    """What ``plan`` needs besides the query: the run, how far back to look, the wait."""

    run: RunWindow
    lookback: str
    wait: float

    @property
    def step(self) -> str:
        """The last-seen subquery's step: at most ~2,000 steps over the lookback."""
        seconds = promql_parser.parse_duration(self.lookback).total_seconds()
        return f"{max(math.ceil(self.run.scrape_interval), math.ceil(seconds / 2000), 1)}s"


def selectors(expr: str) -> list[Selector]:
    """The distinct vector selectors of ``expr`` (a rendered, valid query), first ones first."""
    found: list[Selector] = []

    def visit(node: object) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            name = node.name or None
            matchers = []
            for m in node.matchers.matchers:
                op = next((text for kind, text in _OPS if m.op == kind), "=")
                if m.name == "__name__" and op == "=" and name is None:
                    name = m.value
                    continue
                matchers.append(Matcher(m.name, op, m.value))
            sel = Selector(name, tuple(matchers))
            if sel not in found:
                found.append(sel)
        return True

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found[:MAX_SELECTORS]


def plan(expr: str, diag: Diagnosis) -> dict[Key, str]:
    """The queries that explain why ``expr`` returned nothing, keyed for ``explain``."""
    window, lookback = diag.run.duration, diag.lookback
    jobs: dict[Key, str] = {
        (-1, "push_failures", ""): queries.diagnose_push_failures(
            run_selector(diag.run.run_id, diag.run.job), window
        )
    }
    for i, sel in enumerate(selectors(expr)):
        full = sel.text()
        jobs[(i, "window", "")] = queries.diagnose_series_count(full, window)
        jobs[(i, "lookback", "")] = queries.diagnose_series_count(full, lookback)
        jobs[(i, "last_seen", "")] = queries.diagnose_last_seen(full, lookback, diag.step)
        scope = sel.text(scope_only=True, with_name=False)
        if sel.scope:
            jobs[(i, "scope", "")] = queries.diagnose_series_count(scope, window)
            jobs[(i, "names", "")] = queries.diagnose_metric_names(scope, window)
            run = next((m for m in sel.scope if m.label == "run_id"), None)
            if run is not None:
                jobs[(i, "jobs", "")] = queries.diagnose_run_jobs(run.text(), lookback)
        named = sel.text(scope_only=True)
        if not sel.name and not sel.scope:
            continue  # {name="/x"} alone: nothing narrower to ask about
        if sel.name:
            jobs[(i, "metric", "")] = queries.diagnose_series_count(named, window)
        for m in sel.others:
            jobs[(i, "values", m.label)] = queries.diagnose_label_values(named, m.label, window)
    return jobs


def explain(expr: str, answers: Mapping[Key, Sequence[Sample]], diag: Diagnosis) -> str:
    """Why ``expr`` returned nothing, from the answers to ``plan``'s queries (a query without
    an answer, one that failed, is left out of the reasoning)."""
    clauses: list[str] = []
    sels = selectors(expr)
    for i, sel in enumerate(sels):
        if _count(answers, (i, "window", "")) != 0:
            continue  # this selector has data (or no answer): look at the next one
        clauses.append(_why(i, sel, answers, diag))
        break  # the first selector without data explains the query's empty answer
    else:
        if sels and all(_count(answers, (i, "window", "")) for i in range(len(sels))):
            clauses.append(
                "every series the query selects has data in the window: the expression drops "
                "them (a comparison or filter, and/unless, the labels of a binary operation, "
                "or rate() over fewer than two samples)"
            )
    failures = _count(answers, (-1, "push_failures", ""))
    if failures:
        clauses.append(
            f"the exporter counted {failures:,.0f} failed pushes for this run "
            "(locust_exporter_push_failures_total)"
        )
    return "; ".join(c for c in clauses if c)


def _why(i: int, sel: Selector, answers: Mapping[Key, Sequence[Sample]], diag: Diagnosis) -> str:
    run = diag.run
    shown = sel.text()
    if _count(answers, (i, "lookback", "")):
        text = f"{shown} has data only outside the run's window ({run.duration})"
        last = _count(answers, (i, "last_seen", ""))
        if last is not None:
            if last <= run.start:
                text += f"; its newest sample is {_span(run.start - last)} before the run's start"
            if run.eval_time - last > diag.wait:
                text += (
                    f"; its last scrape is {_span(run.eval_time - last)} old, older than the "
                    f"wait ({diag.wait:g}s): is it still scraped?"
                )
        return text
    if sel.scope and _count(answers, (i, "scope", "")) == 0:
        scope = ", ".join(m.text() for m in sel.scope)
        pushed = sorted(_values(answers, (i, "jobs", ""), "job"))
        job = next((m.value for m in sel.scope if m.label == "job"), None)
        if pushed and job is not None and job not in pushed:
            where = ", ".join(_quoted(j) for j in pushed)
            return f"job {job!r} has no such run: {scope} is unknown (the run is in job {where})"
        return f"run or job unknown: no series with {scope} in the run's window"
    if sel.name and _count(answers, (i, "metric", "")) == 0:
        text = f"metric {sel.name} is absent for this run"
        near_name = _near(sel.name, _values(answers, (i, "names", ""), "__name__"))
        return text + (f" (did you mean {clip(near_name, MAX_VALUE)}?)" if near_name else "")
    missing = []
    known = _count(answers, (i, "lookback", "")) is not None
    for m in sel.others:
        if (i, "values", m.label) not in answers:
            known = False
            continue
        values = _values(answers, (i, "values", m.label), m.label)
        if any(m.matches(v) for v in values):
            continue
        text = f"no series with {m.text()}"
        near = _near(m.value, values) if m.op in ("=", "=~") else None
        if near is not None:
            text += f" (did you mean {_quoted(near)}?)"
        elif values - {""}:
            listed = ", ".join(_quoted(v) for v in sorted(values, key=_order)[:SHOWN_VALUES])
            more = " ..." if len(values) > SHOWN_VALUES else ""
            text += f" (values: {listed}{more})"
        missing.append(text)
    if missing or not known:  # without every answer, no claim about the combination
        return "; ".join(missing)
    return f"no series has every matcher of {shown} at once"


def _count(answers: Mapping[Key, Sequence[Sample]], key: Key) -> float | None:
    """The single value of a count-like answer: 0 for an empty answer, None without one."""
    if key not in answers:
        return None
    finite = [s.value for s in answers[key] if math.isfinite(s.value)]
    return max(finite) if finite else 0.0


def _values(answers: Mapping[Key, Sequence[Sample]], key: Key, label: str) -> set[str]:
    return {s.labels.get(label, "") for s in answers.get(key, ())}


def _order(value: str) -> tuple[float, str]:
    """Numbers (a bucket's ``le``, a ``quantile``) by value, so ``2`` comes before ``10``; the
    rest after them, as text."""
    try:
        number = float(value)
    except ValueError:
        return (math.inf, value)
    return (number, "") if not math.isnan(number) else (math.inf, value)


def _quoted(value: str) -> str:
    """A label value from Prometheus in a reason: escaped as PromQL writes it, and short."""
    return f'"{clip(escape_string(value), MAX_VALUE)}"'


def _near(wanted: str, values: set[str]) -> str | None:
    """The value ``wanted`` was probably meant to be: the same but for case, else the closest."""
    candidates = sorted(v for v in values if v)
    same = [v for v in candidates if v.casefold() == wanted.casefold()]
    if same:
        return same[0]
    folded = {v.casefold(): v for v in candidates}
    close = difflib.get_close_matches(wanted.casefold(), list(folded), n=1, cutoff=0.75)
    return folded[close[0]] if close else None


def _span(seconds: float) -> str:
    """A duration as a reader takes it in: ``45s``, ``12m 5s``, ``3h 20m``, ``2d 4h``."""
    whole = max(0, round(seconds))
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"

"""How every output writes a figure: values with their unit, series labels, the CI key lines and
verdict words. Text, JUnit, Markdown, HTML, the run listing and the judge's reasons all call this
module, so one value reads the same everywhere (``78.9ms``, ``no data``, ``WARNING``)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Literal, get_args

from ...config.conditions import parse_condition
from ...config.units import Unit, get_unit
from ...errors import ConfigError
from ..model.result import Verdict

__all__ = [
    "DISPLAY_STATES",
    "KEY_LINES_LABEL",
    "NO_DATA",
    "REPORT_ONLY",
    "SEVERITY_ORDER",
    "VERDICT_GLYPHS",
    "VERDICT_ICONS",
    "VERDICT_MEANINGS",
    "VERDICT_WORDS",
    "DisplayState",
    "check_title",
    "conditions_text",
    "display_state",
    "format_labels",
    "format_value",
    "key_lines",
    "limit_text",
    "verdict_word",
]

#: how a missing value (no series, NaN) reads in every output
NO_DATA = "no data"
#: the heading every output lists the ``mode: report`` checks under, apart from the others
REPORT_ONLY = "Report-only checks (mode: report, not counted)"

#: verdict or report state -> the word shown. ``no_data`` is a skipped check without a value and
#: ``unknown`` a report without a gate result; both are shown apart from a plain skip.
DisplayState = Literal["pass", "warning", "fail", "skip", "no_data", "unknown"]
DISPLAY_STATES: tuple[DisplayState, ...] = get_args(DisplayState)
VERDICT_WORDS: dict[DisplayState, str] = {
    "pass": "PASS",
    "warning": "WARNING",
    "fail": "FAIL",
    "skip": "SKIPPED",
    "no_data": "NO DATA",
    "unknown": "NOT JUDGED",
}
#: plain-text glyphs (HTML, next to the word, so meaning never rests on colour alone)
VERDICT_GLYPHS: dict[DisplayState, str] = {
    "pass": "✓",
    "warning": "!",
    "fail": "✗",
    "skip": "–",
    "no_data": "?",
    "unknown": "–",
}
#: emoji for Markdown (GitHub renders them in PR comments)
VERDICT_ICONS: dict[DisplayState, str] = {
    "pass": "✅",
    "warning": "⚠️",
    "fail": "❌",
    "skip": "⏭️",
    "no_data": "❔",
    "unknown": "❔",
}
#: states from the most to the least severe: tallies and lists read in this order
SEVERITY_ORDER: tuple[DisplayState, ...] = ("fail", "warning", "no_data", "skip", "pass", "unknown")
#: what the key lines are for, written before them: they repeat figures in the CI/CD guide's form
KEY_LINES_LABEL = "For CI scripts:"
VERDICT_MEANINGS: dict[DisplayState, str] = {
    "pass": "every check passed",
    "warning": "no check failed, some crossed a warning threshold",
    "fail": "at least one check failed",
    "skip": "not judged",
    "no_data": "Prometheus returned nothing to judge: not a pass",
    "unknown": "no gate result was given (run promgate check)",
}


def display_state(verdict: Verdict | str | None, value: float | None = 0.0) -> DisplayState:
    """The state an output shows: the verdict, ``no_data`` for a skip without a value, and
    ``unknown`` for no verdict at all."""
    if verdict is None:
        return "unknown"
    state = verdict.value if isinstance(verdict, Verdict) else str(verdict)
    if state == "skip" and (value is None or (isinstance(value, float) and math.isnan(value))):
        return "no_data"
    return next((s for s in DISPLAY_STATES if s == state), "unknown")


def verdict_word(verdict: Verdict | str | None, value: float | None = 0.0) -> str:
    """The lower-case word a table cell shows for a check or series (``pass``, ``warning``,
    ``fail``, ``skipped``, ``no data``): the same state every output shows."""
    return VERDICT_WORDS[display_state(verdict, value)].lower()


def limit_text(
    text: str,
    unit: Unit | str,
    baseline: float | None,
    *,
    factor: float = 1.0,
    shown_unit: Unit | str | None = None,
) -> str:
    """A threshold as every output shows it: ``"> 2"`` in a seconds check reads ``> 2.000s``;
    a relative one its resolved limit and the condition (``> 18.0ms (> +20%)``), or the condition
    alone without a baseline. ``factor``/``shown_unit`` show it in another unit (HTML: percent)."""
    u = unit if isinstance(unit, Unit) else get_unit(unit)
    try:
        cond = parse_condition(text, u)
    except ConfigError:
        return text
    limit = cond.threshold(baseline)
    if limit is None:
        return cond.text.strip()
    shown = f"{cond.op} {format_value(limit * factor, shown_unit or u)}"
    return f"{shown} ({cond.text.strip()})" if cond.relative else shown


def conditions_text(
    texts: Sequence[str],
    unit: Unit | str,
    baseline: float | None,
    *,
    factor: float = 1.0,
    shown_unit: Unit | str | None = None,
) -> str:
    """A level's conditions joined by ``or`` (any one triggers); empty when there are none."""
    return " or ".join(
        limit_text(t, unit, baseline, factor=factor, shown_unit=shown_unit) for t in texts
    )


def format_value(value: float | None, unit: Unit | str) -> str:
    """A value in its unit as every output writes it; ``None`` and NaN read ``no data``."""
    u = unit if isinstance(unit, Unit) else get_unit(unit)
    if value is None or math.isnan(value):
        return NO_DATA
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if u.dimension == "time":
        if abs(value * u.scale) < 1:
            return f"{value * u.scale * 1e3:.1f}ms"
        return f"{value * u.scale:.3f}s"
    if u.name == "percent":
        return f"{value:.2f}%"
    if u.name == "ratio":
        return f"{value:.4f}"
    if u.name == "rps":
        return f"{value:.2f} rps"
    if u.name == "bytes":
        return f"{value:.0f} B"
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.3g}"


def format_labels(labels: Mapping[str, str]) -> str:
    """A series' labels as PromQL writes them: ``{method="GET", name="/a \\"b\\""}``."""
    if not labels:
        return "{}"
    return "{" + ", ".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items())) + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def key_lines(p95_seconds: float | None, error_percent: float | None) -> tuple[str, str]:
    """The two lines CI scripts read (the Locust CI/CD guide's workflow regexes
    ``/95th percentile: (\\d+\\.?\\d*)s/`` and ``/Error rate: (\\d+\\.?\\d*)%/``). A missing
    value reads ``no data``, so the regex finds nothing rather than a made-up 0."""
    p95 = (
        NO_DATA if p95_seconds is None or not math.isfinite(p95_seconds) else f"{p95_seconds:.3f}s"
    )
    err = (
        NO_DATA
        if error_percent is None or not math.isfinite(error_percent)
        else f"{error_percent:.2f}%"
    )
    return f"95th percentile: {p95}", f"Error rate: {err}"


def check_title(name: str, window: str | None) -> str:
    """A check's name with the seconds it judged, when not the whole run:
    ``p95 [steady 0:10-0:22 (12s)]``."""
    return f"{name} [{window}]" if window else name

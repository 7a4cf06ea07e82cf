"""The table ``promgate check`` prints on stdout; colour only when stdout is a terminal."""

from __future__ import annotations

from typing import TextIO

from ..core.judging.format import (
    REPORT_ONLY,
    check_title,
    conditions_text,
    format_labels,
    format_value,
    verdict_word,
)
from ..core.model.result import CheckResult, GateResult, Verdict
from ..textsafe import line_safe
from .regression_rows import baseline_text, regression_rows, text_lines

__all__ = ["render_table", "write_table"]

_COLOURS = {Verdict.PASS: "32", Verdict.WARN: "33", Verdict.FAIL: "31", Verdict.SKIP: "90"}
_HEADER = ("check", "value", "warning", "critical", "baseline", "verdict")


def _rows(check: CheckResult) -> list[tuple[Verdict, tuple[str, ...]]]:
    unit = check.unit
    row = (
        check_title(check.name, check.span),
        format_value(check.value, unit),
        conditions_text(check.warning, unit, check.baseline) or "-",
        conditions_text(check.critical, unit, check.baseline) or "-",
        format_value(check.baseline, unit) if check.baseline is not None else "-",
        verdict_word(check.verdict, check.value),
    )
    rows: list[tuple[Verdict, tuple[str, ...]]] = [(check.verdict, row)]
    if check.reduce == "each" and len(check.series) > 1:
        for s in check.series:
            cells = (
                f"  {format_labels(s.labels)}",
                format_value(s.value, unit),
                "",
                "",
                format_value(s.baseline, unit) if s.baseline is not None else "",
                verdict_word(s.verdict, s.value),
            )
            rows.append((s.verdict, cells))
    return rows


def _table(checks: list[CheckResult], colour: bool) -> list[str]:
    rows: list[tuple[str, ...]] = []
    verdicts: list[Verdict] = []
    for check in checks:
        for verdict, row in _rows(check):
            # Names, labels and reasons come from config and Prometheus: no control character
            # reaches the terminal, no line starts a CI workflow command.
            rows.append(tuple(line_safe(cell) for cell in row))
            verdicts.append(verdict)
    widths = [max(len(r[i]) for r in [_HEADER, *rows]) for i in range(len(_HEADER))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(_HEADER, widths, strict=True)).rstrip()]
    for row, verdict in zip(rows, verdicts, strict=True):
        cells = [c.ljust(w) for c, w in zip(row, widths, strict=True)]
        if colour:
            cells[-1] = f"\033[{_COLOURS[verdict]}m{cells[-1]}\033[0m"
        lines.append("  ".join(cells).rstrip())
    return lines


def render_table(result: GateResult, colour: bool = False) -> str:
    lines = _table(result.checks, colour) if result.checks or not result.report_checks else []
    if result.report_checks:
        lines += [
            *([""] if lines else []),
            f"{REPORT_ONLY}:",
            *_table(result.report_checks, colour),
        ]
    lines.append("")
    regression = text_lines(regression_rows(result))
    lines += [*map(line_safe, regression), ""] if regression else []
    for check in result.checks:
        if check.verdict is not Verdict.PASS or check.reason != "within thresholds":
            lines.append(line_safe(f"{check_title(check.name, check.span)}: {check.reason}"))
    for check in result.report_checks:
        if check.verdict is not Verdict.PASS or check.reason != "within thresholds":
            title = check_title(check.name, check.span)
            lines.append(line_safe(f"{title} (report-only): {check.reason}"))
    if result.aborted is not None:
        lines.append(line_safe(f"promgate run {result.aborted.summary()}"))
    overall = result.verdict.value.upper()
    if colour:
        overall = f"\033[1;{_COLOURS[result.verdict]}m{overall}\033[0m"
    base = f", baseline {baseline_text(result)}" if result.baseline is not None else ""
    run = line_safe(f"run {result.run_id!r}{base}, window {result.run.duration}")
    lines.append(f"promgate: {overall} ({run})")
    if result.dashboard_url:
        lines.append(line_safe(f"dashboard: {result.dashboard_url}"))
    lines.extend(line_safe(f"note: {n}") for n in result.notes)
    return "\n".join(lines) + "\n"


def write_table(result: GateResult, out: TextIO) -> None:
    colour = bool(getattr(out, "isatty", lambda: False)())
    out.write(render_table(result, colour))

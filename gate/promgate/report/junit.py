"""JUnit XML: one testcase per check (and per series of an ``each`` check)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ..core.judging.format import (
    REPORT_ONLY,
    check_title,
    format_labels,
    format_value,
    verdict_word,
)
from ..core.model.result import CheckResult, GateResult, SeriesResult, Verdict
from ..textsafe import xml_safe
from .regression_rows import HEADER, cells, row_for

__all__ = ["render_junit"]


def render_junit(result: GateResult) -> str:
    suite = ET.Element("testsuite", name=f"promgate {result.run_id}")
    counts = {"tests": 0, "failures": 0, "skipped": 0}
    _cases(suite, result.checks, result.strict, counts)
    report_only = None
    if result.report_checks:
        # Their own suite, whose cases never fail or skip: what they would be is in the text.
        report_only = ET.Element("testsuite", name=f"promgate {result.run_id}: {REPORT_ONLY}")
        _cases(report_only, result.report_checks, False, None)
        report_only.set("tests", str(len(report_only)))
        for key in ("failures", "skipped", "errors"):
            report_only.set(key, "0")
    _finish(result, suite, counts)
    totals = {
        **counts,
        "tests": counts["tests"] + (len(report_only) if report_only is not None else 0),
    }
    suites = ET.Element(
        "testsuites", {"name": "promgate", **{k: str(v) for k, v in totals.items()}}
    )
    suites.append(suite)
    if report_only is not None:
        suites.append(report_only)
    for element in suites.iter():  # ElementTree writes ESC and other non-XML characters raw
        element.text = xml_safe(element.text) if element.text else element.text
        for attr, text in element.attrib.items():
            element.set(attr, xml_safe(text))
    ET.indent(suites)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
    )


def _cases(
    suite: ET.Element, checks: list[CheckResult], strict: bool, counts: dict[str, int] | None
) -> None:
    """One testcase per check (per series of an ``each`` check); ``counts`` None: report-only
    cases, which say their verdict in ``system-out`` and never fail or skip."""
    for check in checks:
        unit = check.unit
        cases = [
            (check_title(check.name, check.span), check.value, check.verdict, check.reason, "")
        ]
        if check.reduce == "each" and len(check.series) > 1:
            cases = [
                (
                    f"{check_title(check.name, check.span)}{format_labels(s.labels)}",
                    s.value,
                    s.verdict,
                    s.reason,
                    _reg(check, s),
                )
                for s in check.series
            ]
        for name, value, verdict, reason, figures in cases:
            case = ET.SubElement(suite, "testcase", classname="promgate", name=name)
            shown = f"value: {format_value(value, unit)}\nquery: {check.query}\n{figures}{reason}"
            if counts is None:
                shown = f"report-only, not counted: {verdict_word(verdict, value)}\n{shown}"
            ET.SubElement(case, "system-out").text = shown
            if counts is None:
                continue
            counts["tests"] += 1
            # Without a value the reason says "no data" already: never "no data: no data (…)".
            message = reason if value is None else f"{format_value(value, unit)}: {reason}"
            failed = verdict is Verdict.FAIL or (strict and verdict is Verdict.WARN)
            if failed:
                counts["failures"] += 1
                ET.SubElement(case, "failure", message=message, type=verdict.value).text = reason
            elif verdict is Verdict.SKIP:
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=message)
            elif verdict is Verdict.WARN:
                # JUnit has no warning state; CI servers show system-err next to a passed case.
                ET.SubElement(case, "system-err").text = f"warning: {message}"


def _finish(result: GateResult, suite: ET.Element, counts: dict[str, int]) -> None:
    """The aborted run's testcase, the notes, and the suite's counts."""
    if result.aborted is not None:
        # The checks may all pass on what ran; the stop itself fails the build, visibly.
        counts["tests"] += 1
        counts["failures"] += 1
        case = ET.SubElement(suite, "testcase", classname="promgate", name="promgate run")
        summary = result.aborted.summary()
        ET.SubElement(case, "failure", message=summary, type=result.aborted.reason).text = summary
    if result.notes:
        # The baseline's notes (none yet, refused, another load profile) travel with the suite.
        ET.SubElement(suite, "system-out").text = "".join(f"note: {n}\n" for n in result.notes)
    for key, value in counts.items():
        suite.set(key, str(value))
    suite.set("errors", "0")


def _reg(check: CheckResult, s: SeriesResult) -> str:
    """``latency_regression``'s figures of the series, one ``name: value`` line each."""
    row = row_for(check, s)
    if row is None:
        return ""
    return "".join(f"{h}: {c}\n" for h, c in zip(HEADER, cells(row), strict=True))

"""The Markdown PR comment (also appended to the GitHub step summary).

It carries the key lines the Locust CI/CD guide's workflow reads (``95th percentile: X.XXXs``,
``Error rate: X.XX%``; see ``core.judging.format.key_lines``). Check names and reasons are free
text: table cells escape ``|``, backslashes and Markdown/HTML specials so a name cannot break
the table.
"""

from __future__ import annotations

from urllib.parse import quote

from ..core.judging.format import (
    KEY_LINES_LABEL,
    NO_DATA,
    REPORT_ONLY,
    VERDICT_ICONS,
    VERDICT_WORDS,
    check_title,
    conditions_text,
    display_state,
    format_value,
    key_lines,
    verdict_word,
)
from ..core.model.result import CheckResult, GateResult, Verdict
from .regression_rows import HEADER, baseline_text, cells, regression_rows

__all__ = ["render_markdown"]


def _href(url: str) -> str:
    """A link target inside ``<...>``: what could end it or start markup percent-encoded."""
    return quote(url, safe="/:?#[]@!$&'()*+,;=%~-._")


def render_markdown(result: GateResult) -> str:
    s = result.summary
    p95_line, err_line = key_lines(s.get("p95"), s.get("error_rate_percent"))
    rps = s.get("rps")
    verdict = display_state(result.verdict)
    lines = [
        f"## {VERDICT_ICONS[verdict]} promgate: {VERDICT_WORDS[verdict]}",
        "",
        f"Run `{_code(result.run_id)}`, window {result.run.duration}."
        + (
            f" [Grafana dashboard](<{_href(result.dashboard_url)}>)" if result.dashboard_url else ""
        ),
        "",
        *(
            [f"**Load test {_cell(result.aborted.summary())}**", ""]
            if result.aborted is not None
            else []
        ),
        f"**{KEY_LINES_LABEL}**",
        f"- {p95_line}",
        f"- {err_line}",
        f"- Requests per second: {format_value(rps, 'rps').removesuffix(' rps')}",
        "",
        *_table(result.checks),
    ]
    if result.report_checks:
        lines += ["", f"**{REPORT_ONLY}:**", "", *_table(result.report_checks)]
    regression = regression_rows(result)
    if regression:
        lines += ["", f"**Latency per endpoint** (baseline: {_cell(baseline_text(result))}):", ""]
        lines += ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
        for r in regression:
            *texts, v = cells(r)
            icon = VERDICT_ICONS[display_state(v)] if v in VERDICT_ICONS else ""
            lines.append("| " + " | ".join(_cell(t) for t in texts) + f" | {icon} {v} |")
    # A check without data says why (core.judging.nodata) even when it is only skipped.
    problems = [
        c
        for c in result.checks
        if c.verdict in (Verdict.FAIL, Verdict.WARN) or c.reason.startswith(NO_DATA)
    ]
    if problems:
        lines += ["", "**Findings:**"]
        lines += [f"- {_cell(check_title(c.name, c.span))}: {_cell(c.reason)}" for c in problems]
        lines += [
            f"- {_cell(r.check)} {_cell(r.endpoint)}: {_cell(r.reason)}"
            for r in regression
            if r.verdict in ("fail", "warning")
        ]
    shown = [c for c in result.report_checks if c.verdict is not Verdict.PASS]
    if shown:
        lines += ["", f"**{REPORT_ONLY}, findings:**"]
        lines += [f"- {_cell(check_title(c.name, c.span))}: {_cell(c.reason)}" for c in shown]
    if result.notes:
        lines += ["", "**Notes:**"]
        lines += [f"- {_cell(note)}" for note in result.notes]
    lines += ["", f"<sub>promgate {result.version}</sub>", ""]
    return "\n".join(lines)


def _table(checks: list[CheckResult]) -> list[str]:
    lines = [
        "| check | value | warning | critical | baseline | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for c in checks:
        base = format_value(c.baseline, c.unit) if c.baseline is not None else "–"
        icon = VERDICT_ICONS[display_state(c.verdict, c.value)]
        warning = conditions_text(c.warning, c.unit, c.baseline) or "–"
        critical = conditions_text(c.critical, c.unit, c.baseline) or "–"
        lines.append(
            f"| {_cell(check_title(c.name, c.span))} | {format_value(c.value, c.unit)}"
            f" | {_cell(warning)}"
            f" | {_cell(critical)} | {base} | {icon} {verdict_word(c.verdict, c.value)} |"
        )
    return lines


#: characters that Markdown or the HTML GitHub allows in comments would interpret
_MD_SPECIAL = {c: f"\\{c}" for c in "\\`*[]<|~"}


def _cell(text: str) -> str:
    """Free text in a table cell or list item, shown literally."""
    out = "".join(_MD_SPECIAL.get(c, c) for c in text.replace("\r", " ").replace("\n", " "))
    return out or "–"


def _code(text: str) -> str:
    return text.replace("`", "'").replace("\n", " ")

"""A Markdown PR comment and GitHub Actions workflow commands.

The comment carries the seed workflow's key lines: ``95th percentile: X.XXs`` and
``Error rate: X.XX%`` (its regexes ``/95th percentile: (\\d+\\.?\\d*)s/`` and
``/Error rate: (\\d+\\.?\\d*)%/``); without data they read ``N/A`` so the regex finds nothing.
"""

from __future__ import annotations

from ..config.units import format_value, get_unit
from ..core.result import GateResult, Verdict

__all__ = ["github_annotations", "render_markdown"]

_ICON = {Verdict.PASS: "✅", Verdict.WARN: "⚠️", Verdict.FAIL: "❌", Verdict.SKIP: "⏭️"}


def render_markdown(result: GateResult) -> str:
    s = result.summary
    p95, err, rps = s.get("p95"), s.get("error_rate_percent"), s.get("rps")
    lines = [
        f"## {_ICON[result.verdict]} promgate: {result.verdict.value.upper()}",
        "",
        f"Run `{_code(result.run_id)}`, window {result.run.get('window')}.",
        "",
        "**Key metrics:**",
        f"- 95th percentile: {f'{p95:.2f}s' if p95 is not None else 'N/A'}",
        f"- Error rate: {f'{err:.2f}%' if err is not None else 'N/A'}",
        f"- Requests per second: {f'{rps:.2f}' if rps is not None else 'N/A'}",
        "",
        "| check | value | warning | critical | baseline | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for c in result.checks:
        unit = get_unit(c.unit)
        base = format_value(c.baseline, unit) if c.baseline is not None else "–"
        lines.append(
            f"| {_cell(c.name)} | {format_value(c.value, unit)} | {_cell(' or '.join(c.warning))}"
            f" | {_cell(' or '.join(c.critical))} | {base} | {_ICON[c.verdict]} {c.verdict.value} |"
        )
    problems = [c for c in result.checks if c.verdict in (Verdict.FAIL, Verdict.WARN)]
    if problems:
        lines += ["", "**Findings:**"]
        lines += [f"- {_cell(c.name)}: {_cell(c.reason)}" for c in problems]
    if result.notes:
        lines += ["", "**Notes:**"]
        lines += [f"- {_cell(note)}" for note in result.notes]
    lines += ["", f"<sub>promgate {result.version}</sub>", ""]
    return "\n".join(lines)


def github_annotations(result: GateResult) -> list[str]:
    """``::error::`` / ``::warning::`` lines for the Actions log."""
    out = []
    for c in result.checks:
        if c.verdict is Verdict.FAIL or (result.strict and c.verdict is Verdict.WARN):
            level = "error"
        elif c.verdict is Verdict.WARN:
            level = "warning"
        else:
            continue
        title = _escape_property(f"promgate {c.name}")
        out.append(f"::{level} title={title}::{_escape_data(f'{c.name}: {c.reason}')}")
    return out


def _escape_data(text: str) -> str:
    # GitHub's workflow-command escaping (toCommandValue) for the message ...
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    # ... and for property values, where ':' and ',' delimit.
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ") or "–"


def _code(text: str) -> str:
    return text.replace("`", "'").replace("\n", " ")

"""GitHub Actions workflow commands: ``::error::`` / ``::warning::`` annotations, escaped the way
the runner reads them, so a check name or message with ``%``, ``:``, ``,`` or newlines stays
intact."""

from __future__ import annotations

from ..core.judging.format import NO_DATA, check_title, verdict_word
from ..core.model.result import GateResult, Verdict
from ..textsafe import show

__all__ = ["annotation", "escape_data", "escape_property", "github_annotations"]


def escape_data(text: str) -> str:
    """A command's message (the runner's ``toCommandValue`` escaping)."""
    # Other controls (ESC, OSC) would reach the log as they are: escaped as in every output.
    text = "\n".join(show(part) for part in text.split("\n"))
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A property value (``title=``), where ``:`` and ``,`` delimit."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(
    level: str, title: str, message: str, *, file: str | None = None, line: int | None = None
) -> str:
    """``::error file=F,line=N,title=T::message`` (``level``: error, warning or notice)."""
    props = [f"file={escape_property(file)}"] if file else []
    props += [f"line={line}"] if line else []
    props.append(f"title={escape_property(title)}")
    return f"::{level} {','.join(props)}::{escape_data(message)}"


def github_annotations(result: GateResult) -> list[str]:
    """One annotation per failed (error) or warning check, for the Actions log."""
    out = []
    for c in result.checks:
        if c.verdict is Verdict.FAIL or (result.strict and c.verdict is Verdict.WARN):
            level = "error"
        elif c.verdict is Verdict.WARN:
            level = "warning"
        elif c.reason.startswith(NO_DATA):
            level = "notice"  # skipped for no data: why, where CI readers look
        else:
            continue
        title = check_title(c.name, c.span)
        out.append(annotation(level, f"promgate {c.name}", f"{title}: {c.reason}"))
    for c in result.report_checks:
        if c.verdict in (Verdict.FAIL, Verdict.WARN) or c.value is None:
            # A notice, never an error or warning: the check does not count (mode: report).
            word = verdict_word(c.verdict, c.value)
            title = check_title(c.name, c.span)
            text = f"{title}: {word} (report-only, not counted): {c.reason}"
            out.append(annotation("notice", f"promgate {c.name}", text))
    if result.aborted is not None:
        out.append(annotation("error", "promgate run", f"load test {result.aborted.summary()}"))
    base = result.baseline
    if base is not None:
        # What the run was (or could not be) compared with is never left to the log alone.
        out += [annotation("warning", "promgate baseline", d) for d in base.differences]
        if base.missing:
            level = "notice" if base.pending else "warning"
            out.append(annotation(level, "promgate baseline", base.missing))
    return out

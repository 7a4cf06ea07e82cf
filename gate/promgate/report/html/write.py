"""The HTML report's files: the page and its stylesheet beside it (``report.html`` ->
``report.css``), as texts; ``cli.files`` writes them.

The HTML also holds the same rules inline, so either file alone is enough for a browser that
allows inline styles, and the pair is what a viewer with a strict Content-Security-Policy
(Jenkins) needs.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from ...core.model.result import GateResult
from .data import report_data
from .page import ReportData, render_html
from .style import CSS

__all__ = ["html_files", "page_files", "stylesheet_path"]


def stylesheet_path(path: str | Path) -> Path:
    """The stylesheet written beside the report ``path``: same folder and stem, ``.css``."""
    report = Path(path)
    css = report.with_name(f"{report.stem}.css")
    return css if css != report else report.with_name(f"{report.name}.css")


def page_files(path: str | Path, data: ReportData) -> list[tuple[Path, str]]:
    """(path, text) of the stylesheet and the report page ``data`` at ``path``, in the order to
    write them: the stylesheet first, so a report on disk never links one that is not there."""
    css = stylesheet_path(path)
    return [(css, CSS), (Path(path), render_html(data, stylesheet=quote(css.name)))]


def html_files(
    path: str | Path, result: GateResult, *, judged: bool = True
) -> list[tuple[Path, str]]:
    """``page_files`` of the report of ``result`` (``judged=False``: a run without a verdict)."""
    return page_files(path, report_data(result, judged=judged))

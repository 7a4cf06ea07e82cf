"""The HTML report's files: the page and its stylesheet beside it (``report.html`` ->
``report.css``), as texts; ``cli.files`` writes them.

The HTML also holds the same rules inline, so either file alone is enough for a browser that
allows inline styles, and the pair is what a viewer with a strict Content-Security-Policy
(Jenkins) needs.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from ...core.result import GateResult
from .data import report_data
from .render import render_html
from .style import CSS

__all__ = ["html_files", "stylesheet_path"]


def stylesheet_path(path: str | Path) -> Path:
    """The stylesheet written beside the report ``path``: same folder and stem, ``.css``."""
    report = Path(path)
    css = report.with_name(f"{report.stem}.css")
    return css if css != report else report.with_name(f"{report.name}.css")


def html_files(
    path: str | Path, result: GateResult, *, judged: bool = True
) -> list[tuple[Path, str]]:
    """(path, text) of the stylesheet and the report of ``result`` at ``path``, in the order to
    write them: the stylesheet first, so a report on disk never links one that is not there."""
    css = stylesheet_path(path)
    page = render_html(report_data(result, judged=judged), stylesheet=quote(css.name))
    return [(css, CSS), (Path(path), page)]

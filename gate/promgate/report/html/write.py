"""Writing the HTML report of one run: gather its data from Prometheus, render, write atomically.

The report is written with its stylesheet beside it (``report.html`` -> ``report.css``): the HTML
also holds the same rules inline, so either file alone is enough for a browser that allows inline
styles, and the pair is what a viewer with a strict Content-Security-Policy (Jenkins) needs.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from ...core.result import GateResult
from ...prometheus.client import PrometheusClient
from ..files import write_report
from .data import collect_report
from .render import ReportData, render_html
from .style import CSS

__all__ = ["stylesheet_path", "write_html", "write_html_report"]


def stylesheet_path(path: str | Path) -> Path:
    """The stylesheet written beside the report ``path``: same folder and stem, ``.css``."""
    report = Path(path)
    css = report.with_name(f"{report.stem}.css")
    return css if css != report else report.with_name(f"{report.name}.css")


def write_html(path: str | Path, data: ReportData) -> Path:
    """Write the report to ``path`` and its stylesheet beside it; returns the stylesheet's path.

    The stylesheet goes first, so a report on disk never links a stylesheet that is not there.
    """
    css = stylesheet_path(path)
    write_report(css, CSS)
    write_report(path, render_html(data, stylesheet=quote(css.name)))
    return css


def write_html_report(path: str | Path, client: PrometheusClient, result: GateResult) -> Path:
    """``promgate check --html FILE``: the report of the run the gate just judged (and its
    stylesheet, whose path is returned)."""
    return write_html(path, collect_report(client, result.run, result))

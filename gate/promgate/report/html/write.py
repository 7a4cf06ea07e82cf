"""Writing the HTML report of one run: gather its data from Prometheus, render, write atomically."""

from __future__ import annotations

from pathlib import Path

from ...core.result import GateResult
from ...prometheus.client import PrometheusClient
from ..files import write_report
from .data import collect_report
from .render import render_html

__all__ = ["write_html_report"]


def write_html_report(path: str | Path, client: PrometheusClient, result: GateResult) -> None:
    """``promgate check --html FILE``: the report of the run the gate just judged."""
    write_report(path, render_html(collect_report(client, result.run, result)))
